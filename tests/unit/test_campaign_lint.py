"""`lint_campaign` and `zhicheng campaign lint`: the 2020 file passes; each broken copy fails naming its key."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from calendars import default_calendar
from engine.campaign import load_campaign
from engine.campaign_lint import lint_campaign
from engine.errors import CampaignError
from engine.paths import bpmn_dir
from webapp.cli import cli

CAMPAIGN_2020 = bpmn_dir() / "campaigns" / "cq-2020-senior.toml"
INVALID = sorted((Path(__file__).parents[1] / "data" / "campaigns" / "invalid").glob("*.toml"))
CST = timezone(timedelta(hours=8))


def expectations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix("# expect:").strip() for line in lines if line.startswith("# expect:")]


def error_messages(path: Path) -> list[str]:
    """Every error for the file, whether the loader refused it or the lint found it."""
    try:
        campaign = load_campaign(path)
    except CampaignError as exc:
        return [f"{p.key}: {p.reason}" for p in exc.problems]
    return [f"{f.key}: {f.message}" for f in lint_campaign(campaign) if f.level == "error"]


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(CAMPAIGN_2020)


def test_2020_campaign_has_no_errors_or_warnings(campaign):
    assert [f for f in lint_campaign(campaign) if f.level != "info"] == []


def test_2020_notice_fits_exactly_and_says_so(campaign):
    (info,) = [f for f in lint_campaign(campaign) if f.level == "info"]
    assert "「单位审核」最晚通过日 2020-11-26 仍来得及" in info.message
    assert "公示到 2020-12-03 24:00 结束" in info.message
    assert campaign.notice_end(date(2020, 11, 26)) == datetime(2020, 12, 4, tzinfo=CST)


def test_deadlines_are_24_00_of_the_closing_day(campaign):
    assert campaign.deadline("unit_review") == datetime(2020, 11, 27, 0, 0, tzinfo=CST)
    assert campaign.opens_at("unit_review") == datetime(2020, 11, 17, 0, 0, tzinfo=CST)
    assert campaign.deadline("unit_review").utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_campaign_fails_naming_the_key(path):
    expected = expectations(path)
    assert expected, f"{path.name} needs a '# expect: <fragment>' header line"
    messages = error_messages(path)
    for fragment in expected:
        assert any(fragment in m for m in messages), f"{fragment!r} not in {messages}"


def test_lint_reads_no_wall_clock_and_takes_a_calendar(campaign):
    later = dataclasses.replace(campaign, committee_recheck_by=date(2020, 12, 26))
    keys = {f.key for f in lint_campaign(later, calendar=default_calendar()) if f.level == "error"}
    assert keys == {"stages.onsite_confirm.closes"}


def test_tier_opening_before_any_hand_over_is_a_warning(campaign):
    stages = dict(campaign.stages)
    stages["tier2_review"] = dataclasses.replace(stages["tier2_review"], opens=date(2020, 11, 20))
    findings = lint_campaign(dataclasses.replace(campaign, stages=stages))
    assert [(f.level, f.key) for f in findings if f.level != "info"] == [
        ("warning", "stages.tier2_review.opens")
    ]


def test_cli_lint_passes_the_2020_file():
    result = CliRunner().invoke(cli, ["campaign", "lint", str(CAMPAIGN_2020)])
    assert result.exit_code == 0, result.output
    assert "0 个错误，0 个警告" in result.output
    assert "提示: public_notice: 「单位审核」最晚通过日 2020-11-26 仍来得及" in result.output


def test_cli_lint_exits_1_and_prints_errors():
    path = next(p for p in INVALID if p.stem == "notice_does_not_fit")
    result = CliRunner().invoke(cli, ["campaign", "lint", str(path)])
    assert result.exit_code == 1
    assert "错误: stages.unit_review.closes: 「单位审核」最后一天 2020-11-27 通过的" in result.output
    assert "1 个错误" in result.output


def test_cli_lint_reports_a_file_that_does_not_load_on_stderr():
    path = next(p for p in INVALID if p.stem == "unknown_key")
    result = CliRunner().invoke(cli, ["campaign", "lint", str(path)])
    assert result.exit_code == 1
    assert "stages.unit_report.close: 未知的键" in result.stderr
    assert "未能读取，共 2 处问题" in result.stderr
    assert "Traceback" not in result.output


def test_cli_lint_missing_file_exits_1(tmp_path):
    result = CliRunner().invoke(cli, ["campaign", "lint", str(tmp_path / "none.toml")])
    assert result.exit_code == 1
    assert "无法读取文件" in result.stderr
