"""Overrides: staff add verified years, holidays and workdays; malformed files name line and key."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

import calendars
from calendars import OverridesError, UnverifiedYear, load_calendar

D = date.fromisoformat
DATA = Path(__file__).resolve().parents[1] / "data" / "calendar"
INVALID = sorted((DATA / "invalid").glob("*.toml"))
SHIPPED = Path(calendars.__file__).parent / "overrides.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_overrides_file_has_no_active_entries():
    assert load_calendar(SHIPPED).verified_years() == load_calendar().verified_years()
    assert set(load_calendar(SHIPPED).verified_years()) == set(range(2019, 2027))


def test_shipped_overrides_examples_are_valid_when_uncommented(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    # Uncomment only the example entries (lines like "# [[holiday]]" or "# key = value").
    active = re.sub(r"^# (\[\[\w+\]\]|\w+ = .*)$", r"\1", text, flags=re.M)
    cal = load_calendar(_write(tmp_path, active))
    assert 2027 in cal.verified_years()
    assert cal.holiday_name(D("2026-12-31")) == "市政府临时停工"
    assert cal.day_kind(D("2026-12-26")) == "makeup_workday"


def test_overrides_add_a_year_a_holiday_and_workdays():
    cal = load_calendar(DATA / "valid_2027.toml")
    assert cal.verified_years()[2027] == "国办发明电〔2026〕99号 (test)"
    assert cal.verified_years()[2020].startswith("国办发明电〔2019〕16号")
    # A local closure on an ordinary Thursday.
    assert cal.day_kind(D("2026-12-31")) == "holiday"
    assert cal.holiday_name(D("2026-12-31")) == "市政府临时停工"
    # A Saturday worked: a make-up workday, with the reason given.
    assert cal.day_kind(D("2027-02-13")) == "makeup_workday"
    assert cal.workday_reason(D("2027-02-13")) == "调休上班（测试）"
    # A weekday the data call a holiday, worked after all.
    assert cal.day_kind(D("2027-02-10")) == "workday"
    assert cal.holiday_name(D("2027-02-10")) is None
    # Walking over the new closure into the newly verified year now works.
    assert cal.nth_working_day_after(D("2026-12-30"), 1) == D("2027-01-04")


def test_overrides_do_not_leak_into_other_calendars():
    load_calendar(DATA / "valid_2027.toml")
    with pytest.raises(UnverifiedYear):
        load_calendar().day_kind(D("2027-02-13"))
    assert load_calendar().day_kind(D("2026-12-31")) == "workday"


def test_a_holiday_override_replaces_a_makeup_workday(tmp_path):
    path = _write(tmp_path, '[[holiday]]\ndate = 2020-09-27\nname = "临时停工"\n')
    cal = load_calendar(path)
    assert cal.day_kind(D("2020-09-27")) == "holiday"
    assert cal.nth_working_day_after(D("2020-09-25"), 1) == D("2020-09-28")


def test_a_workday_override_replaces_a_data_holiday(tmp_path):
    path = _write(tmp_path, '[[workday]]\ndate = "2020-10-08"\nreason = "本地不放假"\n')
    cal = load_calendar(path)
    assert cal.is_working_day(D("2020-10-08"))
    assert cal.nth_working_day_after(D("2020-09-30"), 1) == D("2020-10-08")


def test_default_calendar_reads_the_environment_variable(monkeypatch):
    monkeypatch.setenv(calendars.OVERRIDES_ENV, str(DATA / "valid_2027.toml"))
    calendars.default_calendar.cache_clear()
    try:
        assert 2027 in calendars.default_calendar().verified_years()
        assert not calendars.is_working_day(D("2026-12-31"))
    finally:
        calendars.default_calendar.cache_clear()


def test_a_missing_overrides_file_is_an_error(tmp_path):
    with pytest.raises(OverridesError) as info:
        load_calendar(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_overrides_name_the_file_line_and_key(path):
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").strip()
    with pytest.raises(OverridesError) as info:
        load_calendar(path)
    error = info.value
    assert expected in str(error)
    assert str(error).startswith(f"{path}:{error.line}: {error.key}: ")
    _, line, key = re.match(r"(.+?):(\d+): (\S+):", expected).groups()
    assert (error.line, error.key) == (int(line), key)


def test_every_invalid_case_has_its_expected_message():
    assert len(INVALID) >= 10
    for path in INVALID:
        assert path.with_suffix(".expected").is_file(), path
