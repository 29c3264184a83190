"""One time convention: a deadline is its last day, never the next day's 00:00 (engine.timefmt)."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from calendars import TZ
from engine import timefmt

ROOT = Path(__file__).resolve().parents[2]
CLOSE_1126 = datetime(2020, 11, 27, 0, 0, tzinfo=TZ)  # the stored instant of "11月26日前"


def test_deadline_at_midnight_reads_as_its_last_day():
    assert timefmt.deadline(CLOSE_1126) == "2020-11-26（24:00 截止）"
    assert timefmt.deadline_cn(CLOSE_1126) == "11月26日"
    assert timefmt.last_day(CLOSE_1126) == date(2020, 11, 26)


def test_deadline_in_utc_reads_the_same():
    assert timefmt.deadline(CLOSE_1126.astimezone(UTC)) == "2020-11-26（24:00 截止）"


def test_deadline_off_midnight_keeps_its_time():
    at = datetime(2020, 11, 26, 17, 30, tzinfo=TZ)
    assert timefmt.deadline(at) == "2020-11-26 17:30 截止"
    assert timefmt.deadline_cn(at) == "11月26日17:30"


def test_a_bare_date_is_a_last_day():
    assert timefmt.deadline(date(2020, 12, 14)) == "2020-12-14（24:00 截止）"


def test_opening_at_midnight_is_that_day():
    opens = datetime(2020, 12, 4, 0, 0, tzinfo=TZ)
    assert timefmt.opens(opens) == "2020-12-04"
    assert timefmt.opens_cn(opens) == "12月4日"


def test_instant_and_days():
    at = datetime(2020, 11, 17, 1, 5, tzinfo=UTC)
    assert timefmt.instant(at) == "2020-11-17 09:05"
    assert timefmt.day(at) == "2020-11-17"
    assert timefmt.day_cn(date(2020, 11, 17)) == "2020年11月17日"
    assert timefmt.instant(None) == timefmt.deadline(None) == ""


@pytest.mark.parametrize(
    ("now", "left"),
    [
        (datetime(2020, 11, 26, 9, tzinfo=TZ), 1),  # Thursday, the last day itself
        (datetime(2020, 11, 23, 9, tzinfo=TZ), 4),  # Mon..Thu
        (datetime(2020, 11, 21, 9, tzinfo=TZ), 4),  # a Saturday does not count
        (datetime(2020, 11, 27, 0, 0, tzinfo=TZ), 0),  # passed
    ],
)
def test_working_days_left_count_today_and_the_last_day(now, left):
    assert timefmt.working_days_left(now, CLOSE_1126) == left


def test_no_other_module_formats_local_time_or_names_the_zone():
    """The convention lives in one module: no strftime, ZoneInfo or hard-coded zone elsewhere in code."""
    offenders = []
    for folder in ("engine", "webapp"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name in ("timefmt.py", "campaign.py"):  # campaign.py checks a file's zone name is real
                continue
            text = path.read_text(encoding="utf-8")
            code = "\n".join(
                line
                for line in text.splitlines()
                if not line.lstrip().startswith("#") and '"""' not in line and "Asia/Shanghai)" not in line
            )
            ast.parse(text)
            if re.search(r"strftime|ZoneInfo\(|\"Asia/Shanghai\"", code):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_templates_never_write_24_00_or_isoformat_by_hand():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "webapp" / "templates").rglob("*.html")
        if "24:00" in p.read_text(encoding="utf-8") or "isoformat()" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
