"""Lint speaks to policy staff (issue 10 item 9): non-working-day windows, and numbers or dates written in
the BPMN that the campaign file contradicts."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

from engine.campaign import load_campaign
from engine.campaign_lint import lint_campaign
from engine.paths import bpmn_dir
from engine.stages import model_from_sources

CAMPAIGN_2020 = bpmn_dir() / "campaigns" / "cq-2020-senior.toml"
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "deployments"


def _warnings(campaign, model=None):
    return [(f.key, f.message) for f in lint_campaign(campaign, model=model) if f.level == "warning"]


def test_a_window_closing_on_a_weekend_is_a_warning_naming_the_key():
    campaign = load_campaign(CAMPAIGN_2020)
    stages = dict(campaign.stages)
    stages["tier3_review"] = dataclasses.replace(
        stages["tier3_review"], closes=date(2020, 12, 13)
    )  # a Sunday
    warnings = _warnings(dataclasses.replace(campaign, stages=stages))
    assert [k for k, _ in warnings] == ["stages.tier3_review.closes"]
    assert "2020年12月13日不是工作日" in warnings[0][1] and "改到相邻的工作日" in warnings[0][1]


def test_numbers_in_bpmn_labels_that_the_campaign_contradicts_are_warnings():
    # the BPMN deployed in 2020 still wrote "公示期（5个工作日）", "420元" and dates into labels and documentation
    (path,) = sorted(GOLDEN.glob("*.json"))[:1]
    model = model_from_sources(
        json.loads(path.read_text(encoding="utf-8"))["sources"], "zhicheng_declaration"
    )
    campaign = load_campaign(CAMPAIGN_2020)
    assert _warnings(campaign, model) == []  # the 2020 file agrees with every number the 2020 BPMN states
    changed = dataclasses.replace(campaign, notice_working_days=7, fee_cny=400)
    keys = {k: m for k, m in _warnings(changed, model)}
    assert (
        "“5个工作日”" in keys["public_notice.working_days"]
        and "活动文件为 7个工作日" in keys["public_notice.working_days"]
    )
    assert "“420元”" in keys["fee.amount_cny"]
    stages = dict(campaign.stages)
    stages["tier2_review"] = dataclasses.replace(stages["tier2_review"], closes=date(2020, 12, 10))
    moved = {k: m for k, m in _warnings(dataclasses.replace(campaign, stages=stages), model)}
    assert (
        "“12月9日”" in moved["stages.tier2_review"] and "删去 BPMN 中的日期" in moved["stages.tier2_review"]
    )


def test_the_shipped_bpmn_states_no_numbers_the_campaign_owns():
    campaign = dataclasses.replace(load_campaign(CAMPAIGN_2020), notice_working_days=7, fee_cny=400)
    assert [m for _, m in _warnings(campaign) if "BPMN 中" in m] == []
