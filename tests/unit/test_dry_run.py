"""The dry run drives every path of a process through the engine; broken diagrams fail naming the task."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from engine.bpmn_check import check_bpmn, check_bpmn_with_summary
from engine.deployment import load_deployment
from engine.dry_run import DryRunFailed, dry_run, dry_run_folder, require_dry_run
from engine.form_samples import _matching, sample, variants
from engine.forms import load_form, validate_form
from engine.paths import bpmn_dir
from webapp.cli.bpmn import bpmn_cli

BROKEN = Path(__file__).resolve().parents[1] / "data" / "bpmn" / "invalid" / "dry_run"
EXPECTED = tomllib.loads((BROKEN / "expected.toml").read_text(encoding="utf-8"))
FORMS = ["declaration", "unit_review", "unit_report", "tier_review", "committee_review", "onsite_confirm"]


def test_the_shipped_process_runs_every_path_to_every_end_event():
    deployment = load_deployment()
    report = dry_run(deployment)
    assert report.ok, "\n".join(map(str, report.problems))
    root = etree.fromstring(deployment.sources["declaration.bpmn"].encode("utf-8"))
    ends = {el.get("id") for el in root.iterfind(".//{*}endEvent")}
    assert set(report.ends) == ends  # every lapse, 不予上报 and 网报完成 is reached by some path
    assert require_dry_run(deployment) is report  # cached by deployment id


def test_bpmn_check_reports_the_dry_run_in_its_summary():
    problems, summary = check_bpmn_with_summary(bpmn_dir())
    assert problems == []
    assert "试运行" in str(summary) and "结束事件" in str(summary)


def test_no_campaign_no_dry_run():
    report, deployment, note = dry_run_folder(Path(__file__).parents[1] / "data" / "bpmn" / "valid")
    assert report is None and deployment is None and "未试运行" in note


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_diagram_fails_the_dry_run_naming_the_task(case):
    file = BROKEN / f"{case}.bpmn"
    expected = EXPECTED[case]
    problems = check_bpmn(file)
    assert problems, f"{case} passed"
    (problem,) = [p for p in problems if p.element_id == expected["element"]]
    assert expected["message"] in problem.message
    if expected["path"]:
        assert expected["path"] in problem.message and "路径：开始" in problem.message
    else:  # a flow no path takes has no path to show
        assert "路径：" not in problem.message
    assert problem.file == str(file) and problem.line > 0


def test_every_broken_diagram_has_an_expectation():
    assert {p.stem for p in BROKEN.glob("*.bpmn")} == set(EXPECTED)


def test_check_cli_exits_1_on_a_dry_run_failure():
    result = CliRunner().invoke(bpmn_cli, ["check", str(BROKEN / "script_raises.bpmn")])
    assert result.exit_code == 1
    assert "「评委会审核受理」（committee_review）" in result.output
    assert "Traceback" not in result.output


def test_require_dry_run_raises_with_every_problem():
    report, deployment, _ = dry_run_folder(BROKEN / "leads_nowhere.bpmn")
    with pytest.raises(DryRunFailed) as info:
        require_dry_run(deployment)
    assert info.value.problems == report.problems
    assert str(info.value).startswith(
        "leads_nowhere.bpmn: 试运行发现 1 个问题，未部署\n试运行：「现场缴费并提交纸质材料」"
    )


@pytest.mark.parametrize("name", FORMS)
def test_generated_form_data_is_valid_for_every_decision(name):
    schema = load_form(name)
    samples = variants(schema, {"decision"})
    for _, data in samples:
        validate_form(schema, data)
    decisions = [o["const"] for o in schema["properties"].get("decision", {}).get("oneOf", [])]
    assert [d.get("decision") for _, d in samples] == (decisions or [None])
    assert all(set(d) == set(sample(schema)) for _, d in samples)


def test_pattern_samples_match_their_pattern():
    import re

    for pattern in ("^sha256:[0-9a-f]{64}$", "^[0-9A-Za-z][0-9A-Za-z-]{5,31}$", r"^(a|b)\d{3}x?$"):
        assert re.fullmatch(pattern.strip("^$"), _matching(pattern)), pattern
