"""Calendar facts checked against the State Council notices, and the 2020 notice's own dates."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import calendars
from calendars import TZ, CalendarError, UnverifiedYear, WorkCalendar, load_calendar

D = date.fromisoformat
PACKAGE = Path(calendars.__file__).parent


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return load_calendar()


def _days(first: str, last: str) -> list[date]:
    start, end = D(first), D(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


DAYS_OFF = [
    *_days("2020-10-01", "2020-10-08"),  # National Day + Mid-Autumn
    *_days("2020-01-24", "2020-02-02"),  # Spring Festival, extended for COVID-19
    *_days("2025-01-28", "2025-02-04"),  # Spring Festival
    *_days("2025-10-01", "2025-10-08"),  # National Day + Mid-Autumn
    *_days("2026-02-15", "2026-02-23"),  # Spring Festival, nine days
    *_days("2026-10-01", "2026-10-07"),  # National Day
]
MAKEUP_WORKDAYS = [
    "2019-09-29",
    "2019-10-12",
    "2020-01-19",
    "2020-09-27",
    "2020-10-10",
    "2025-01-26",
    "2025-02-08",
    "2025-04-27",
    "2025-09-28",
    "2025-10-11",
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
]
ORDINARY_WORKDAYS = [
    "2020-09-30",
    "2020-10-09",
    "2020-11-26",
    "2020-12-03",
    "2025-02-05",
    "2025-10-09",
    "2026-02-24",
    "2026-10-08",
]
WEEKENDS = ["2020-02-08", "2020-10-11", "2020-11-28", "2025-10-12", "2026-02-21", "2026-10-11"]


@pytest.mark.parametrize("day", DAYS_OFF, ids=str)
def test_holiday_period_days_are_not_working_days(cal, day):
    assert not cal.is_working_day(day)
    assert cal.day_kind(day) in ("holiday", "weekend")


@pytest.mark.parametrize("day", MAKEUP_WORKDAYS)
def test_makeup_weekend_days_are_working_days(cal, day):
    assert D(day).weekday() >= 5
    assert cal.is_working_day(D(day))
    assert cal.day_kind(D(day)) == "makeup_workday"
    assert cal.workday_reason(D(day)).startswith("调休上班")


@pytest.mark.parametrize("day", ORDINARY_WORKDAYS)
def test_ordinary_weekdays_are_working_days(cal, day):
    assert cal.day_kind(D(day)) == "workday"
    assert cal.is_working_day(D(day))


@pytest.mark.parametrize("day", WEEKENDS)
def test_plain_weekends_are_rest_days(cal, day):
    assert cal.day_kind(D(day)) == "weekend"
    assert not cal.is_working_day(D(day))


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2020-10-01", "国庆节"),
        ("2020-10-01", "中秋节"),
        ("2025-01-29", "春节"),
        ("2026-02-17", "春节"),
        ("2026-10-01", "国庆节"),
        ("2025-01-01", "元旦"),
    ],
)
def test_holidays_carry_their_names(cal, day, name):
    assert cal.day_kind(D(day)) == "holiday"
    assert name in cal.holiday_name(D(day))


def test_non_holidays_have_no_name(cal):
    assert cal.holiday_name(D("2020-11-26")) is None
    assert cal.workday_reason(D("2020-11-26")) is None


def test_notice_own_dates_approval_nov_26_ends_at_24h_dec_3(cal):
    assert cal.nth_working_day_after(D("2020-11-26"), 5) == D("2020-12-03")
    end = cal.notice_end(D("2020-11-26"), 5)
    assert end == datetime(2020, 12, 4, 0, 0, tzinfo=TZ)
    assert end.isoformat() == "2020-12-04T00:00:00+08:00"
    assert cal.end_of_day(D("2020-12-03")) == end


@pytest.mark.parametrize(
    ("approval", "n", "last"),
    [
        ("2020-09-25", 1, "2020-09-27"),  # the make-up Sunday counts
        ("2020-09-25", 4, "2020-09-30"),
        ("2020-09-25", 5, "2020-10-09"),  # jumps the whole October holiday
        ("2020-09-30", 1, "2020-10-09"),
        ("2020-10-09", 1, "2020-10-10"),  # make-up Saturday
        ("2025-09-26", 2, "2025-09-29"),
        ("2026-02-13", 1, "2026-02-14"),
        ("2026-02-14", 1, "2026-02-24"),
        ("2020-11-27", 1, "2020-11-30"),  # an ordinary weekend is skipped
    ],
)
def test_nth_working_day_after_across_holidays(cal, approval, n, last):
    assert cal.nth_working_day_after(D(approval), n) == D(last)
    assert cal.working_days_between(D(approval), D(last)) == n


def test_working_days_between_is_half_open(cal):
    assert cal.working_days_between(D("2020-11-26"), D("2020-12-03")) == 5
    assert cal.working_days_between(D("2020-11-26"), D("2020-11-26")) == 0
    assert cal.working_days_between(D("2020-12-03"), D("2020-11-26")) == -5
    assert cal.working_days_between(D("2020-09-30"), D("2020-10-08")) == 0


@pytest.mark.parametrize("n", [0, -1, True, 1.5])
def test_nth_working_day_refuses_a_bad_count(cal, n):
    with pytest.raises(CalendarError):
        cal.nth_working_day_after(D("2020-11-26"), n)


def test_day_boundaries_are_aware_shanghai_midnights(cal):
    assert cal.start_of_day(D("2020-11-26")).isoformat() == "2020-11-26T00:00:00+08:00"
    assert cal.end_of_day(D("2020-12-31")).isoformat() == "2021-01-01T00:00:00+08:00"


def test_local_date_converts_instants_to_shanghai(cal):
    assert cal.local_date(datetime(2020, 12, 3, 16, 0, tzinfo=UTC)) == D("2020-12-04")
    assert cal.local_date(datetime(2020, 12, 3, 15, 59, tzinfo=UTC)) == D("2020-12-03")
    with pytest.raises(CalendarError):
        cal.local_date(datetime(2020, 12, 3, 12, 0))


def test_verified_years_cover_2019_to_2026_with_notice_numbers(cal):
    years = cal.verified_years()
    assert set(range(2019, 2027)) <= set(years)
    assert years[2020].startswith("国办发明电〔2019〕16号")
    assert years[2025] == "国办发明电〔2024〕12号"
    assert years[2026] == "国办发明电〔2025〕7号"


@pytest.mark.parametrize("year", range(2019, 2027))
def test_every_verified_year_has_makeup_workdays_only_on_weekends(cal, year):
    days = _days(f"{year}-01-01", f"{year}-12-31")
    makeup = [d for d in days if cal.day_kind(d) == "makeup_workday"]
    assert makeup, "a year without make-up days looks extrapolated, not published"
    assert all(d.weekday() >= 5 for d in makeup)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.is_working_day(D("2031-05-01")),
        lambda c: c.day_kind(D("2031-05-01")),
        lambda c: c.holiday_name(D("2031-05-01")),
        lambda c: c.nth_working_day_after(D("2031-05-01"), 1),
        lambda c: c.working_days_between(D("2026-12-01"), D("2031-05-01")),
        lambda c: c.end_of_day(D("2031-05-01")),
        lambda c: c.start_of_day(D("2031-05-01")),
        lambda c: c.notice_end(D("2031-05-01"), 5),
    ],
)
def test_an_unpublished_year_is_refused_naming_the_year(cal, call):
    with pytest.raises(UnverifiedYear) as info:
        call(cal)
    assert info.value.year == 2031
    assert "2031" in str(info.value)
    assert "overrides.toml" in str(info.value)
    assert "国务院办公厅关于2031年部分节假日安排的通知" in str(info.value)


def test_walking_into_an_unverified_year_is_refused(cal):
    with pytest.raises(UnverifiedYear) as info:
        cal.nth_working_day_after(D("2026-12-28"), 5)
    assert info.value.year == 2027


def test_error_hierarchy():
    assert issubclass(UnverifiedYear, CalendarError)
    assert issubclass(calendars.OverridesError, CalendarError)
    assert issubclass(CalendarError, ValueError)


def test_module_conveniences_use_the_default_calendar(monkeypatch):
    monkeypatch.delenv(calendars.OVERRIDES_ENV, raising=False)
    calendars.default_calendar.cache_clear()
    try:
        assert calendars.default_calendar() is calendars.default_calendar()
        assert calendars.nth_working_day_after(D("2020-11-26"), 5) == D("2020-12-03")
        assert calendars.notice_end(D("2020-11-26"), 5).isoformat() == "2020-12-04T00:00:00+08:00"
        assert calendars.is_working_day(D("2020-09-27"))
        assert calendars.working_days_between(D("2020-11-26"), D("2020-12-03")) == 5
        assert calendars.end_of_day(D("2020-12-03")).isoformat() == "2020-12-04T00:00:00+08:00"
    finally:
        calendars.default_calendar.cache_clear()


FORBIDDEN_IMPORTS = ("engine", "webapp", "flask", "sqlalchemy", "flask_sqlalchemy")


@pytest.mark.parametrize("module", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_calendars_stays_pure_no_app_imports_no_wall_clock(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        else:
            names = []
        for name in names:
            assert name.split(".")[0].lower() not in FORBIDDEN_IMPORTS, f"{module.name} imports {name}"
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("today", "now", "utcnow", "time_ns"), f"{module.name} reads the clock"
