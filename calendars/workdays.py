"""The working-day calendar: State Council holidays and make-up workdays, Asia/Shanghai."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from .errors import CalendarError, UnverifiedYear
from .overrides import Overrides, read_overrides

TZ = ZoneInfo("Asia/Shanghai")
PACKAGE_DIR = Path(__file__).resolve().parent
VERIFIED_YEARS_FILE = PACKAGE_DIR / "verified_years.toml"
DEFAULT_OVERRIDES_FILE = PACKAGE_DIR / "overrides.toml"
OVERRIDES_ENV = "ZHICHENG_CALENDAR_OVERRIDES"

DAY_KINDS = ("workday", "weekend", "holiday", "makeup_workday")
_ONE_DAY = timedelta(days=1)
# holidays names a substituted day off "休息日（由 2020-09-27 调休）": that is how we learn which
# holiday a make-up workday pays for.
_SUBSTITUTED = re.compile(r"由\s*(\d{4}-\d{2}-\d{2})\s*调休")


class WorkCalendar:
    """Working days for the verified years; every date outside them is refused, never guessed."""

    def __init__(
        self, verified_years: Mapping[int, str], holidays: Mapping[date, str], workdays: Mapping[date, str]
    ) -> None:
        both = sorted(set(holidays) & set(workdays))
        if both:
            raise CalendarError(f"{both[0]} is both a holiday and a workday")
        self._verified = dict(sorted(verified_years.items()))
        self._holidays = dict(holidays)
        self._workdays = dict(workdays)

    def __repr__(self) -> str:
        years = ", ".join(str(y) for y in self._verified)
        return f"<WorkCalendar verified years: {years}>"

    def _check(self, d: date) -> None:
        """Raises UnverifiedYear unless d's year was checked against its State Council notice."""
        if d.year not in self._verified:
            raise UnverifiedYear(d.year)

    def verified_years(self) -> dict[int, str]:
        """Year → source (the State Council notice number) for every year this calendar knows."""
        return dict(self._verified)

    def day_kind(self, d: date) -> str:
        """One of "workday", "weekend", "holiday", "makeup_workday" (调休上班); raises UnverifiedYear."""
        self._check(d)
        if d in self._holidays:
            return "holiday"
        weekend = d.weekday() >= 5
        if d in self._workdays:
            return "makeup_workday" if weekend else "workday"
        return "weekend" if weekend else "workday"

    def is_working_day(self, d: date) -> bool:
        """True on ordinary weekdays and make-up workdays; raises UnverifiedYear."""
        return self.day_kind(d) in ("workday", "makeup_workday")

    def holiday_name(self, d: date) -> str | None:
        """The holiday's name (e.g. 国庆节), or None if d is not a holiday; raises UnverifiedYear."""
        self._check(d)
        return self._holidays.get(d)

    def workday_reason(self, d: date) -> str | None:
        """Why d is worked despite the data (调休上班, a local override), or None; raises UnverifiedYear."""
        self._check(d)
        return self._workdays.get(d)

    def nth_working_day_after(self, d: date, n: int) -> date:
        """The n-th working day strictly after d (n >= 1); raises UnverifiedYear on any day walked."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise CalendarError(f"n must be a whole number of working days >= 1, got {n!r}")
        self._check(d)
        day = d
        while n:
            day += _ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative if end < start; raises UnverifiedYear on any day walked."""
        if end < start:
            return -self.working_days_between(end, start)
        self._check(start)
        self._check(end)
        count, day = 0, start
        while day < end:
            day += _ONE_DAY
            count += self.is_working_day(day)
        return count

    def start_of_day(self, d: date) -> datetime:
        """00:00 of d in Asia/Shanghai, aware; raises UnverifiedYear."""
        self._check(d)
        return datetime.combine(d, time(0), tzinfo=TZ)

    def end_of_day(self, d: date) -> datetime:
        """24:00 of d in Asia/Shanghai (= next day 00:00), aware; raises UnverifiedYear."""
        self._check(d)
        return datetime.combine(d + _ONE_DAY, time(0), tzinfo=TZ)

    def notice_end(self, approval_day: date, n: int) -> datetime:
        """End of a public notice of n working days approved on approval_day: 24:00 of its last day."""
        return self.end_of_day(self.nth_working_day_after(approval_day, n))

    def local_date(self, instant: datetime) -> date:
        """The Asia/Shanghai calendar date of an aware instant; raises CalendarError if naive."""
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise CalendarError(f"{instant.isoformat()} has no time zone; pass an aware datetime")
        return instant.astimezone(TZ).date()


def _data_days(years: list[int]) -> tuple[dict[date, str], dict[date, str]]:
    """Holidays and make-up workdays from the pinned holidays package, for the given years only."""
    if not years:
        return {}, {}
    china = holidays_lib.China(years=years, language="zh_CN")
    wanted = set(years)
    days_off = {d: name for d, name in sorted(china.items()) if d.year in wanted}
    paid_for: dict[date, date] = {}
    for day, name in days_off.items():
        for iso in _SUBSTITUTED.findall(name):
            paid_for[date.fromisoformat(iso)] = day
    # weekend_workdays holds every year the package ever knew, so filter to the verified ones.
    worked = {}
    for d in sorted(china.weekend_workdays):
        if d.year in wanted:
            off = paid_for.get(d)
            worked[d] = f"调休上班（换 {off.isoformat()} 休息）" if off else "调休上班"
    return days_off, worked


def build_calendar(verified: Overrides, overrides: Overrides) -> WorkCalendar:
    """Combines holidays data, the verified years and local overrides (overrides win)."""
    years = {**verified.verified_years, **overrides.verified_years}
    days_off, worked = _data_days(sorted(years))
    for day, name in overrides.holidays.items():
        worked.pop(day, None)
        days_off[day] = name
    for day, reason in overrides.workdays.items():
        days_off.pop(day, None)
        worked[day] = reason
    return WorkCalendar(years, days_off, worked)


def load_calendar(overrides_path: str | Path | None = None) -> WorkCalendar:
    """Builds a calendar from the shipped verified years plus an overrides file (default: the shipped one)."""
    verified = read_overrides(VERIFIED_YEARS_FILE, sections=["verified_year"])
    path = Path(overrides_path) if overrides_path is not None else DEFAULT_OVERRIDES_FILE
    overrides = read_overrides(path, known_years=verified.verified_years)
    return build_calendar(verified, overrides)


@cache
def default_calendar() -> WorkCalendar:
    """The process-wide calendar: $ZHICHENG_CALENDAR_OVERRIDES or calendars/overrides.toml; cached."""
    return load_calendar(os.environ.get(OVERRIDES_ENV) or None)


def is_working_day(d: date) -> bool:
    """default_calendar().is_working_day(d)."""
    return default_calendar().is_working_day(d)


def nth_working_day_after(d: date, n: int) -> date:
    """default_calendar().nth_working_day_after(d, n)."""
    return default_calendar().nth_working_day_after(d, n)


def working_days_between(start: date, end: date) -> int:
    """default_calendar().working_days_between(start, end)."""
    return default_calendar().working_days_between(start, end)


def end_of_day(d: date) -> datetime:
    """default_calendar().end_of_day(d)."""
    return default_calendar().end_of_day(d)


def notice_end(approval_day: date, n: int) -> datetime:
    """default_calendar().notice_end(approval_day, n)."""
    return default_calendar().notice_end(approval_day, n)
