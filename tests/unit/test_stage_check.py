"""`bpmn check` and `deploy` refuse a stage that cannot run, naming the task (issue 10 item 3, static)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine.bpmn_check import check_bpmn
from engine.deployment import build_deployment, read_sources
from engine.errors import ConfigError
from engine.paths import bpmn_dir
from engine.stage_check import check_deployment, require_stages


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "bpmn"
    root.mkdir()
    shutil.copy(bpmn_dir() / "declaration.bpmn", root)
    shutil.copytree(bpmn_dir() / "forms", root / "forms")
    shutil.copytree(bpmn_dir() / "campaigns", root / "campaigns")
    return root


def _edit(path: Path, pattern: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    changed, n = re.subn(pattern, new, text, count=count, flags=re.S)
    assert n == count, pattern
    path.write_text(changed, encoding="utf-8")


def _messages(folder: Path, element: str) -> list[str]:
    return [p.message for p in check_bpmn(folder) if p.element_id == element]


def test_the_shipped_folder_has_no_stage_problems():
    assert check_deployment(build_deployment(read_sources())) == []


def test_a_task_without_a_deadline_timer_is_named(folder):
    _edit(
        folder / "declaration.bpmn",
        r'<bpmn:boundaryEvent id="deadline_tier3_review".*?</bpmn:boundaryEvent>',
        "",
    )
    _edit(
        folder / "declaration.bpmn", r'<bpmn:sequenceFlow id="flow_deadline_tier3_review_to_lapsed[^>]*/>', ""
    )
    (message,) = _messages(folder, "tier3_review")
    assert "没有截止定时器" in message and 'stage_deadline("tier3_review", return_stage)' in message


def test_a_deadline_timer_leading_nowhere_is_named(folder):
    _edit(
        folder / "declaration.bpmn", r'<bpmn:sequenceFlow id="flow_deadline_unit_report_to_lapsed[^>]*/>', ""
    )
    _edit(
        folder / "declaration.bpmn",
        r"<bpmn:outgoing>flow_deadline_unit_report_to_lapsed_unit_report</bpmn:outgoing>",
        "",
    )
    (message,) = _messages(folder, "unit_report")
    assert "没有连到结束事件" in message


def test_a_task_without_a_window_in_the_campaign_is_named(folder):
    _edit(
        folder / "campaigns" / "cq-2020-senior.toml", r"\[stages\.tier2_review\].*?closes = 2020-12-09\n", ""
    )
    (message,) = _messages(folder, "tier2_review")
    assert "cq-2020-senior.toml" in message and "添加 [stages.tier2_review] 一节" in message


def test_unknown_names_and_stage_ids_in_expressions_are_named(folder):
    _edit(folder / "declaration.bpmn", r'decision == "return"', 'decison == "return"')
    _edit(folder / "declaration.bpmn", r'stage_deadline\("tier2_review"', 'stage_deadline("tier2_reveiw"')
    problems = check_bpmn(folder)
    assert any(
        "'decison' 不存在" in p.message
        for p in problems
        if p.element_id == "flow_gw_unit_review_to_record_return"
    )
    assert any(
        "stage_deadline('tier2_reveiw')" in p.message
        for p in problems
        if p.element_id == "deadline_tier2_review"
    )


def test_a_default_flow_standing_in_for_a_decision_is_refused(folder):
    _edit(
        folder / "declaration.bpmn",
        r'(<bpmn:sequenceFlow id="flow_gw_tier3_to_committee_review"[^>]*>)\s*<bpmn:conditionExpression[^<]*</bpmn:conditionExpression>\s*</bpmn:sequenceFlow>',
        r"\1</bpmn:sequenceFlow>",
    )
    _edit(
        folder / "declaration.bpmn",
        r'<bpmn:exclusiveGateway id="gw_tier3" name="([^"]*)">',
        r'<bpmn:exclusiveGateway id="gw_tier3" name="\1" default="flow_gw_tier3_to_committee_review">',
    )
    (message,) = _messages(folder, "gw_tier3")
    assert "允许决定 'approve'" in message and "默认流不能代替审核决定" in message
    deployment = build_deployment(read_sources(folder))
    with pytest.raises(ConfigError, match="gw_tier3"):
        require_stages(deployment)
