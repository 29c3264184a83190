"""Scenario files cannot lie: every typo and bad reference is a clear error naming the file, step and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.errors import ActionRefused, FormInvalid, OutsideWindow
from engine.paths import bpmn_dir
from engine.scenario import error_matches, error_text, run_scenario, show_instant
from engine.scenario_format import ScenarioInvalid
from webapp.cli import cli

INVALID = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "invalid"
EXPECTED = tomllib.loads((INVALID / "expected.toml").read_text(encoding="utf-8"))
STRAIGHT = bpmn_dir() / "scenarios" / "straight_path.yaml"


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_scenario_is_refused_naming_file_step_and_key(case):
    path = INVALID / f"{case}.yaml"
    with pytest.raises(ScenarioInvalid) as info:
        run_scenario(path)
    text = str(info.value)
    assert text.startswith(f"{path}: 场景文件有")
    for fragment in EXPECTED[case]["errors"]:
        assert fragment in text, text


def test_every_invalid_scenario_has_an_expectation():
    assert {p.stem for p in INVALID.glob("*.yaml")} == set(EXPECTED)


def test_the_run_goes_on_with_the_next_file_without_a_traceback():
    files = [str(INVALID / "unknown_stage.yaml"), str(STRAIGHT), str(INVALID / "malformed_time.yaml")]
    result = CliRunner().invoke(cli, ["scenario", "run", *files])
    assert result.exit_code == 1
    assert "通过  直通路径" in result.stdout and "1 个场景通过，2 个失败" in result.stdout
    assert "unit_reveiw" in result.stderr and "时间格式错误" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_expect_error_matches_the_class_or_any_parent():
    refusal = OutsideWindow("「单位审核」已于 2020年11月26日24:00 截止")
    for name in ("OutsideWindow", "ActionRefused", "ZhichengError", "已于 2020年11月26日24:00"):
        assert error_matches(refusal, name), name
    assert not error_matches(refusal, "NotPermitted")
    assert not error_matches(refusal, "FormInvalid")


def test_expect_error_matches_per_field_form_errors():
    invalid = FormInvalid({"opinion": "审核意见：至少填写10个字"})
    assert isinstance(invalid, ActionRefused)
    assert error_matches(invalid, "审核意见：至少填写10个字")
    assert error_matches(invalid, "ActionRefused")
    assert error_text(invalid) == "表单填写有误，请按提示修改：审核意见：至少填写10个字"


def test_a_date_deadline_is_reported_as_24_00_of_that_day(tmp_path):
    text = STRAIGHT.read_text(encoding="utf-8")
    old = "expect: {status: public_notice, stage: public_notice, deadline: 2020-12-03}"
    assert old in text
    broken = tmp_path / "scenarios" / "late.yaml"
    broken.parent.mkdir()
    (broken.parent / "data").symlink_to(STRAIGHT.parent / "data")
    broken.write_text(text.replace(old, old.replace("2020-12-03", "2020-12-02")), encoding="utf-8")
    result = run_scenario(broken)
    (failure,) = [f for s in result.steps for f in s.failures]
    assert failure == "deadline：预期 2020-12-02（24:00 截止），实际 2020-12-03（24:00 截止）"
    assert "00:00" not in failure


def test_show_instant_keeps_the_deadline_convention():
    from datetime import datetime

    from calendars import TZ

    assert show_instant(datetime(2020, 11, 27, tzinfo=TZ), deadline=True) == "2020-11-26（24:00 截止）"
    assert show_instant(datetime(2020, 11, 27, tzinfo=TZ)) == "2020-11-27 00:00"
    assert show_instant(datetime(2020, 11, 26, 9, 30, tzinfo=TZ), deadline=True) == "2020-11-26 09:30 截止"
    assert show_instant(None) == "无"


def test_expect_error_with_a_form_field_message_passes_in_a_scenario(tmp_path):
    text = STRAIGHT.read_text(encoding="utf-8")
    path = tmp_path / "scenarios" / "short.yaml"
    path.parent.mkdir()
    (path.parent / "data").symlink_to(STRAIGHT.parent / "data")
    step = (
        "  - note: 意见太短\n    at: 2020-11-26T15:00+08:00\n    actor: unit_admin\n    complete: unit_review\n"
        "    data: {decision: approve, opinion: 同意}\n    expect_error: 推荐意见：至少填写10个字\n"
    )
    head, sep, rest = text.partition("  - at: 2020-11-26T16:00+08:00\n")
    assert sep, "straight_path.yaml changed: adjust this test"
    path.write_text(head + step + sep + rest, encoding="utf-8")
    result = run_scenario(path)
    assert result.ok, [f for s in result.steps for f in s.failures]
