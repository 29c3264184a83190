"""Errors of the calendar package; `engine` maps them to its own messages."""

from __future__ import annotations

from pathlib import Path


class CalendarError(ValueError):
    """A date lies outside the verified calendar years, or the calendar data are wrong."""


class UnverifiedYear(CalendarError):
    """A date falls in a year whose State Council holiday notice nobody has checked."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"{year} is not a verified calendar year: working days in {year} are unknown. "
            f"Check the holidays data for {year} against the State Council's notice "
            f"(国务院办公厅关于{year}年部分节假日安排的通知), then add it to calendars/overrides.toml "
            f"under the verified years section as [[verified_year]] year = {year}, "
            f'source = "<the notice number, e.g. 国办发明电〔{year - 1}〕N号>", '
            f"with [[holiday]] / [[workday]] entries for any day the data get wrong."
        )


class OverridesError(CalendarError):
    """A calendar data file (overrides or verified years) is malformed; names file, line and key."""

    def __init__(self, file: str | Path, line: int, key: str, reason: str) -> None:
        self.file = str(file)
        self.line = line
        self.key = key
        self.reason = reason
        super().__init__(f"{self.file}:{line}: {key}: {reason}")
