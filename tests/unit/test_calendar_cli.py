"""`zhicheng calendar …`: output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from webapp.cli import cli

DATA = Path(__file__).resolve().parents[1] / "data" / "calendar"


@pytest.fixture
def run(monkeypatch):
    monkeypatch.delenv("ZHICHENG_CALENDAR_OVERRIDES", raising=False)
    import calendars

    calendars.default_calendar.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, ["calendar", *args])
    calendars.default_calendar.cache_clear()


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        ("2020-11-26", "5", "2020-12-03"),
        ("2020-09-25", "5", "2020-10-09"),
        ("2025-09-26", "1", "2025-09-28"),
        ("2026-02-13", "2", "2026-02-24"),
    ],
)
def test_workdays_prints_the_date_on_the_last_line(run, day, n, expected):
    result = run("workdays", day, n)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == expected


def test_workdays_explains_the_notice_end(run):
    result = run("workdays", "2020-11-26", "5")
    assert "2020-12-04T00:00:00+08:00" in result.output


def test_workdays_refuses_an_unverified_year(run):
    result = run("workdays", "2031-01-05", "3")
    assert result.exit_code == 1
    assert "2031" in result.stderr and "overrides.toml" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("workdays", "2020-13-01", "5"),
        ("workdays", "2020-11-26", "0"),
        ("workdays", "2020-11-26"),
        ("month", "2020-13"),
        ("month", "October"),
    ],
)
def test_usage_errors_exit_2(run, args):
    assert run(*args).exit_code == 2


def test_month_grid_marks_holidays_and_makeup_days(run):
    result = run("month", "2020-10")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert "  1*   2*   3*   4" in result.output
    assert "  5*   6*   7*   8*   9   10+  11" in result.output
    assert any(line.startswith("Legend:") for line in lines)
    assert any(line.startswith("2020-10-10 Sat +") for line in lines)
    assert any(line.startswith("2020-10-01 Thu *") and "国庆节" in line for line in lines)
    assert "17 working days" in lines[0]


def test_month_lists_the_2026_spring_festival(run):
    result = run("month", "2026-02")
    assert result.exit_code == 0
    assert "14+" in result.output and "28+" in result.output
    assert "2026-02-17 Tue * 春节" in result.output


def test_month_refuses_an_unverified_year(run):
    result = run("month", "2031-01")
    assert result.exit_code == 1
    assert "2031 is not a verified calendar year" in result.stderr


def test_years_lists_verified_years_and_sources(run):
    result = run("years")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [int(line.split()[0]) for line in lines] == list(range(2019, 2027))
    assert "2025  国办发明电〔2024〕12号" in lines


def test_overrides_option_uses_another_file(run):
    result = run("--overrides", str(DATA / "valid_2027.toml"), "years")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].startswith("2027")


def test_a_bad_overrides_file_exits_1_naming_line_and_key(run):
    result = run("--overrides", str(DATA / "invalid" / "unknown_key.toml"), "years")
    assert result.exit_code == 1
    assert "unknown_key.toml:9: holiday.nmae: unknown key" in result.stderr
