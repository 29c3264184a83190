"""Reading and validating the calendar TOML files (verified years, local overrides)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from .errors import OverridesError

# Each section is an array of tables; every key listed is required and no other key is allowed,
# so a typo ("nmae") fails loudly instead of silently dropping a holiday.
SECTIONS: dict[str, dict[str, type]] = {
    "verified_year": {"year": int, "source": str},
    "holiday": {"date": date, "name": str},
    "workday": {"date": date, "reason": str},
}
# The State Council has published schedules since 1999; anything far outside is a typo.
_YEAR_RANGE = range(1999, 2101)


@dataclass(frozen=True)
class Overrides:
    """Validated contents of one calendar TOML file."""

    verified_years: dict[int, str] = field(default_factory=dict)
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)


class _Locator:
    """Finds the source line of a TOML entry: tomllib returns values without positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _headers(self, section: str) -> list[int]:
        pattern = re.compile(rf"""^\s*\[\[\s*["']?{re.escape(section)}["']?\s*\]\]""")
        return [i for i, line in enumerate(self.lines) if pattern.match(line)]

    def section(self, section: str) -> int:
        pattern = re.compile(
            rf"""^\s*(\[{{1,2}}\s*["']?{re.escape(section)}["']?\s*\]|["']?{re.escape(section)}["']?\s*=)"""
        )
        for i, line in enumerate(self.lines):
            if pattern.match(line):
                return i + 1
        return 1

    def entry(self, section: str, index: int, key: str | None = None) -> int:
        headers = self._headers(section)
        if index >= len(headers):
            # Inline-table arrays (holiday = [{...}]) have no headers; the section line is close enough.
            return self.section(section)
        start = headers[index]
        if key is not None:
            pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
            for i in range(start + 1, len(self.lines)):
                if self.lines[i].lstrip().startswith("["):
                    break
                if pattern.match(self.lines[i]):
                    return i + 1
        return start + 1


def _parse(path: Path, text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(match.group(1)) if match else max(len(text.splitlines()), 1)
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise OverridesError(path, line, "toml", f"not valid TOML: {reason}") from exc
    except RecursionError:  # tomllib recurses once per nesting level
        raise OverridesError(path, 1, "toml", "not valid TOML: nested too deeply") from None


def _value(raw: object, expected: type, fail) -> object:
    """Checks one value's type; dates may also be written as ISO strings."""
    if expected is date:
        if isinstance(raw, datetime):  # a datetime is a date subclass, but a time of day means a mistake
            fail("bad date: give a plain date like 2027-01-01, without a time")
        if isinstance(raw, date):
            return raw
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                fail(f"bad date {raw!r}: give a date like 2027-01-01")
        fail(f"bad date {raw!r}: give a date like 2027-01-01")
    if expected is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            fail(f"must be an integer year, got {raw!r}")
        if raw not in _YEAR_RANGE:
            fail(f"year {raw} is out of range {_YEAR_RANGE.start}..{_YEAR_RANGE.stop - 1}")
        return raw
    if not isinstance(raw, str):
        fail(f"must be a string, got {raw!r}")
    if not raw.strip():
        fail("must not be empty")
    return raw.strip()


def read_overrides(
    path: str | Path, *, sections: Iterable[str] = SECTIONS, known_years: Collection[int] = ()
) -> Overrides:
    """Reads and validates a calendar TOML file; raises OverridesError naming file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OverridesError(path, 0, "file", f"cannot read: {exc.strerror or exc}") from exc
    data = _parse(path, text)
    where = _Locator(text)
    allowed = list(sections)
    result = Overrides()
    seen: dict[str, dict[object, int]] = {name: {} for name in allowed}

    # Verified years first, so a holiday may precede the [[verified_year]] that admits its year.
    for name in sorted(data, key=lambda n: n != "verified_year"):
        entries = data[name]
        if name not in allowed:
            raise OverridesError(
                path, where.section(name), name, f"unknown section; expected one of {', '.join(allowed)}"
            )
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise OverridesError(
                path, where.section(name), name, f"must be an array of tables written [[{name}]]"
            )
        schema = SECTIONS[name]
        for index, entry in enumerate(entries):

            def fail(reason: str, key: str | None = None, *, _n=name, _i=index) -> None:
                line = where.entry(_n, _i, key)
                raise OverridesError(path, line, f"{_n}.{key}" if key else _n, reason)

            for key in entry:
                if key not in schema:
                    fail(f"unknown key; expected {', '.join(schema)}", key)
            for key in schema:
                if key not in entry:
                    fail(f"missing key {key!r} (each [[{name}]] needs {', '.join(schema)})", key)
            values = {
                key: _value(entry[key], kind, lambda r, k=key: fail(r, k)) for key, kind in schema.items()
            }
            key_line = where.entry(name, index, "year" if name == "verified_year" else "date")
            _store(name, values, result, seen, key_line, fail, known_years)
    return result


def _store(
    name: str, values: dict, result: Overrides, seen: dict, line: int, fail, known_years: Collection[int]
) -> None:
    """Adds one validated entry, refusing duplicates and contradictions."""
    if name == "verified_year":
        year = values["year"]
        if year in seen[name]:
            fail(f"year {year} listed twice (first at line {seen[name][year]})", "year")
        seen[name][year] = line
        result.verified_years[year] = values["source"]
        return
    day: date = values["date"]
    other = "workday" if name == "holiday" else "holiday"
    if day in seen[name]:
        fail(f"{day} listed twice as [[{name}]] (first at line {seen[name][day]})", "date")
    if day in seen.get(other, {}):
        fail(
            f"{day} is also a [[{other}]] (line {seen[other][day]}); a day is either a holiday "
            "or a workday, remove one of them",
            "date",
        )
    if day.year not in known_years and day.year not in result.verified_years:
        fail(
            f"{day} is in {day.year}, which is not a verified year; add a [[verified_year]] entry "
            f"for {day.year} (with the State Council notice number) first",
            "date",
        )
    seen[name][day] = line
    target = result.holidays if name == "holiday" else result.workdays
    target[day] = values["name" if name == "holiday" else "reason"]
