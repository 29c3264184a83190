"""`zhicheng bpmn check`: a valid tiny process passes; each broken copy gets its own problem."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.bpmn_check import Problem, check_bpmn, check_bpmn_with_summary
from engine.deployment import content_hash, read_sources
from engine.paths import bpmn_dir
from webapp.cli.bpmn import bpmn_cli

DATA = Path(__file__).resolve().parents[1] / "data" / "bpmn"
VALID = DATA / "valid"
INVALID = DATA / "invalid"
EXPECTED = tomllib.loads((INVALID / "expected.toml").read_text(encoding="utf-8"))


def test_tiny_fixture_is_well_formed_but_its_stages_cannot_run():
    # tiny.bpmn passes every structural check; what it lacks is what a stage needs to run (stage_check)
    problems, summary = check_bpmn_with_summary(VALID)
    assert problems and all(
        "没有截止定时器" in p.message or "不存在" in p.message or "决定" in p.message for p in problems
    ), "\n".join(map(str, problems))
    assert {p.element_id for p in problems if "没有截止定时器" in p.message} == {
        "applicant_submit",
        "applicant_correct",
        "unit_review",
        "unit_report",
        "tier2_review",
        "tier3_review",
        "committee_review",
        "onsite_confirm",
    }


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_copy_reports_its_problem(case):
    file = INVALID / f"{case}.bpmn"
    problems = check_bpmn(file)
    expected = EXPECTED[case]
    matching = [
        p for p in problems if p.element_id == expected["element"] and expected["message"] in p.message
    ]
    assert matching, "\n".join(map(str, problems))
    assert all(p.file == str(file) for p in matching)
    assert all(p.line > 0 for p in matching)


def test_every_invalid_fixture_has_an_expectation():
    assert {p.stem for p in INVALID.glob("*.bpmn")} == set(EXPECTED)


def test_problem_prints_as_file_line_element_message():
    assert str(Problem("a.bpmn", 12, "f6", "条件表达式语法错误")) == "a.bpmn:12: f6: 条件表达式语法错误"
    assert str(Problem("a.bpmn", 3, "", "XML 格式错误")) == "a.bpmn:3: -: XML 格式错误"


def test_folder_without_bpmn_files_is_a_problem(tmp_path):
    problems = check_bpmn(tmp_path)
    assert [p.message for p in problems] == ["找不到 .bpmn 文件"]


def test_default_path_follows_zhicheng_bpmn_dir(tmp_path, monkeypatch):
    shutil.copytree(bpmn_dir(), tmp_path / "policy", ignore=shutil.ignore_patterns("scenarios"))
    monkeypatch.setenv("ZHICHENG_BPMN_DIR", str(tmp_path / "policy"))
    assert check_bpmn() == []
    (tmp_path / "policy" / "forms" / "tier_review.schema.json").unlink()
    assert {p.message for p in check_bpmn()} == {"表单文件不存在：forms/tier_review.schema.json"}


def test_syntax_error_line_points_into_a_multiline_script():
    problems = check_bpmn(INVALID / "bad_script.bpmn")
    text = (INVALID / "bad_script.bpmn").read_text(encoding="utf-8").splitlines()
    (problem,) = [p for p in problems if p.element_id == "mark_accepted"]
    assert "stage = = " in text[problem.line - 1]


@pytest.mark.skipif(
    not (bpmn_dir() / "declaration.bpmn").exists(), reason="bpmn/declaration.bpmn not written yet"
)
def test_shipped_bpmn_folder_has_no_problems():
    assert [str(p) for p in check_bpmn()] == []


def test_cli_ok_summary_and_exit_zero():
    result = CliRunner().invoke(bpmn_cli, ["check", str(bpmn_dir())])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 1 个 BPMN 文件，38 个流程元素，12 个表单文件")


def test_cli_prints_problems_and_exits_one():
    result = CliRunner().invoke(bpmn_cli, ["check", str(INVALID / "missing_edge.bpmn")])
    assert result.exit_code == 1
    assert f"{INVALID / 'missing_edge.bpmn'}:" in result.output
    assert ": f4: 缺少连线" in result.output


def test_cli_refuses_a_path_that_does_not_exist(tmp_path):
    result = CliRunner().invoke(bpmn_cli, ["check", str(tmp_path / "nope")])
    assert result.exit_code == 2


def _sources(target: Path) -> dict[str, str]:
    shutil.copytree(VALID, target)
    (target / "campaigns").mkdir()
    (target / "campaigns" / "c.toml").write_text('notice = "渝职改办〔2020〕200号"\n', encoding="utf-8")
    return read_sources(target, target / "campaigns" / "c.toml")


def test_deployment_hash_depends_on_content_not_location_or_order(tmp_path):
    first = content_hash(_sources(tmp_path / "a"))
    assert len(first) == 64
    b = _sources(tmp_path / "b")
    assert content_hash(dict(reversed(list(b.items())))) == first
    name = next(n for n in b if n.startswith("forms/"))
    b[name] += " "
    assert content_hash(b) != first


def test_deployment_hash_changes_when_a_file_is_renamed(tmp_path):
    sources = _sources(tmp_path / "a")
    renamed = {("campaigns/d.toml" if k == "campaigns/c.toml" else k): v for k, v in sources.items()}
    assert content_hash(sources) != content_hash(renamed)
