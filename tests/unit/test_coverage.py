"""Scenario coverage: flows, gateway branches and deadline timers exercised, per BPMN, with a marked diagram."""

from __future__ import annotations

from click.testing import CliRunner
from lxml import etree

from engine.coverage import Coverage
from engine.paths import bpmn_dir
from engine.scenario import run_scenario
from webapp.cli import cli

SCENARIOS = bpmn_dir() / "scenarios"
SVG = {"svg": "http://www.w3.org/2000/svg"}


def _coverage(*names: str) -> Coverage:
    coverage = Coverage()
    for name in names:
        result = run_scenario(SCENARIOS / f"{name}.yaml")
        assert result.ok
        for workflow in result.workflows:
            coverage.add(result.deployment, workflow)
    return coverage


def test_the_shipped_scenarios_exercise_every_flow_branch_and_deadline():
    coverage = _coverage(*sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
    files = {item.name: item for item in coverage}
    item = files["declaration.bpmn"]
    m = item.model
    assert item.flows == set(m.flows)
    assert item.timers == set(m.timers) and len(m.timers) == 8
    covered, total = item.branches()
    assert covered == total == 16
    assert "警告" not in item.report() and "未走过" not in item.report()


def test_one_straight_path_leaves_the_branches_and_deadlines_it_never_took():
    (item,) = list(_coverage("straight_path"))
    report = item.report()
    assert "边界定时器（逾期） 0/8（0%）" in report
    assert (
        "警告：网关「单位审核结果」的分支「退回补正」（flow_gw_unit_review_to_record_return）没有场景走过"
        in report
    )
    assert "未触发的定时器：「单位审核」的截止（deadline_unit_review）" in report
    assert "flow_gw_unit_review_to_gw_notice" in item.flows  # the approval it did take
    assert "flow_gw_unit_review_to_record_return" not in item.flows


def test_the_coverage_diagram_marks_exactly_the_covered_flows():
    (item,) = list(_coverage("return_unit"))
    root = etree.fromstring(item.svg().encode("utf-8"))
    marked = {
        g.get("data-element-id"): g.get("class")
        for g in root.iterfind(".//svg:g", SVG)
        if (g.get("class") or "").startswith("bpmn-flow")
    }
    assert set(marked) == set(item.model.flows)
    assert {f for f, cls in marked.items() if cls == "bpmn-flow done"} == item.flows
    assert {f for f, cls in marked.items() if cls == "bpmn-flow missed"} == set(item.model.flows) - item.flows


def test_cli_writes_the_report_and_the_diagram_next_to_it(tmp_path):
    out = tmp_path / "cov"
    files = [str(SCENARIOS / "straight_path.yaml"), str(SCENARIOS / "lapses.yaml")]
    result = CliRunner().invoke(cli, ["scenario", "run", *files, "--coverage", "--coverage-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "流程图 declaration.bpmn" in result.output and "网关分支" in result.output
    text = (out / "declaration.coverage.txt").read_text(encoding="utf-8")
    assert text.startswith("流程图 declaration.bpmn（") and "边界定时器（逾期） 8/8" in text
    assert (out / "declaration.coverage.svg").read_text(encoding="utf-8").startswith("<svg")


def test_without_the_flag_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["scenario", "run", str(SCENARIOS / "straight_path.yaml")])
    assert result.exit_code == 0 and "网关分支" not in result.output
    assert list(tmp_path.iterdir()) == []
