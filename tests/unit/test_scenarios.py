"""Every shipped scenario passes; a wrong expectation fails and names its step."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.paths import bpmn_dir
from engine.scenario import run_scenario
from webapp.cli import cli

SCENARIOS = sorted((bpmn_dir() / "scenarios").glob("*.yaml"))


def test_the_shipped_scenarios_cover_the_notice():
    names = {p.stem for p in SCENARIOS}
    assert {
        "straight_path",
        "return_unit",
        "return_tier2",
        "return_tier3",
        "return_committee",
        "lapses",
        "municipal_unit",
        "not_recommended",
        "notice_across_holiday",
    } <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_passes(path):
    result = run_scenario(path)
    failures = [f"{s.label}: {f}" for s in result.steps for f in s.failures]
    assert result.ok, "\n".join(failures)


def _broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    src = bpmn_dir() / "scenarios" / "straight_path.yaml"
    text = src.read_text(encoding="utf-8")
    assert old in text
    target = tmp_path / "scenarios" / "broken.yaml"
    target.parent.mkdir()
    (target.parent / "data").symlink_to(src.parent / "data")
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_wrong_expectation_fails_naming_the_step(tmp_path):
    path = _broken_copy(
        tmp_path,
        "expect: {status: public_notice, stage: public_notice, deadline: 2020-12-03}",
        "expect: {status: public_notice, stage: public_notice, deadline: 2020-12-02}",
    )
    result = run_scenario(path)
    assert not result.ok
    failed = [s for s in result.steps if s.failures]
    assert [s.index for s in failed] == [3]
    assert failed[0].failures == ["deadline：预期 2020-12-02（24:00 截止），实际 2020-12-03（24:00 截止）"]


def test_scenario_cli_exit_codes(tmp_path):
    good = bpmn_dir() / "scenarios" / "straight_path.yaml"
    from click.testing import CliRunner

    runner = CliRunner()
    result = runner.invoke(cli, ["scenario", "run", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 个场景通过，0 个失败" in result.output
    bad = _broken_copy(
        tmp_path, "expect: {status: confirmed, ready: []}", "expect: {status: expired, ready: []}"
    )
    result = runner.invoke(cli, ["scenario", "run", str(bad)])
    assert result.exit_code == 1
    assert "步骤 11" in result.output and "状态：预期 expired，实际 confirmed" in result.output


def test_unknown_step_key_is_refused_before_the_run(tmp_path):
    from engine.scenario_format import ScenarioInvalid

    path = _broken_copy(tmp_path, "    actor: alice\n", "    actr: alice\n")
    with pytest.raises(ScenarioInvalid, match="未知的键：actr"):
        run_scenario(path)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_final_state_of_every_scenario_replays_identically(path):
    from engine.audit.replay import compare_state, replay
    from engine.scenario import ScenarioRunner

    runner = ScenarioRunner(path)
    assert runner.run().ok
    for name, app in runner.apps.items():
        replayed, divergence = replay(runner.deployment, runner.events[name])
        assert divergence is None, f"{name}: {divergence}"
        assert compare_state(replayed, app) is None, name
        assert replayed.status() == app.status()
