"""The stage model read from the BPMN: order, labels, lanes and tiers, roles, statuses, returns, lapses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.deployment import ENGINE_VERSION, build_deployment, load_deployment
from engine.errors import ConfigError
from engine.stages import Outcome, model_from_sources

GOLDEN_SOURCES = Path(__file__).resolve().parents[1] / "data" / "golden" / "deployments"


@pytest.fixture(scope="module")
def model():
    return load_deployment().model


def test_order_follows_the_flows_and_corrections_are_apart(model):
    assert model.order == (
        "applicant_submit",
        "unit_review",
        "unit_report",
        "tier2_review",
        "tier3_review",
        "committee_review",
        "onsite_confirm",
    )
    assert model.submission == "applicant_submit"
    assert model.corrections == ("applicant_correct",)
    assert model.review_order[0] == "unit_review"
    assert model.after("tier2_review") == "tier3_review"
    assert model.after("onsite_confirm") is None


def test_labels_lanes_and_tiers_come_from_the_bpmn(model):
    assert model.label("applicant_submit") == "申报人填报"
    assert model.label("public_notice") == "单位公示"
    assert model.stages["tier3_review"].tier == "tier3"
    assert model.stages["onsite_confirm"].lane == "评委会"
    assert model.tiers == ("unit", "tier2", "tier3", "committee")
    assert model.optional_tiers == {"tier2"}
    assert model.required_tiers == ("unit", "tier3", "committee")
    assert not model.legacy


def test_roles_statuses_and_responsibility_are_task_properties(model):
    assert model.roles("onsite_confirm") == {"desk", "admin"}
    assert model.roles("unit_review") == {"admin", "reviewer"}
    assert model.status_for_waiting("applicant_correct") == "returned"
    assert model.status_for_waiting("tier2_review") == "in_review"
    assert model.status_for_waiting("public_notice") == "public_notice"
    assert model.applicant_responsible("onsite_confirm")
    assert not model.applicant_responsible("tier3_review")


def test_returns_and_lapses(model):
    assert model.direct_returns == {"committee_review"}
    assert model.in_return_cycle("unit_review", "tier2_review")
    assert not model.in_return_cycle("tier3_review", "tier2_review")
    assert not model.in_return_cycle("unit_review", "committee_review")
    assert model.stages["unit_report"].deadline_timer == "deadline_unit_report"
    assert model.outcome_of_end_event("lapsed_tier2_review") == Outcome("expired", "tier2_review")
    assert model.outcome_of_end_event("end_not_recommended") == Outcome("not_recommended", "unit_report")
    assert model.outcome_of_end_event("end_confirmed") == Outcome("confirmed", "onsite_confirm")


def test_a_bpmn_without_tier_properties_is_read_as_engine_version_1():
    (path,) = sorted(GOLDEN_SOURCES.glob("*.json"))[:1]
    sources = json.loads(path.read_text(encoding="utf-8"))["sources"]
    deployment = build_deployment(sources)
    assert deployment.engine_version == 1 and deployment.model.legacy
    assert deployment.model.roles("onsite_confirm") == {"desk", "admin"}
    assert load_deployment().engine_version == ENGINE_VERSION


def _sources_with(old: str, new: str) -> dict:
    sources = load_deployment().sources
    name = next(n for n in sources if n.endswith(".bpmn"))
    assert old in sources[name]
    return {**sources, name: sources[name].replace(old, new, 1)}


def test_a_lane_without_a_tier_is_refused_naming_it():
    sources = _sources_with('<spiffworkflow:property name="tier" value="tier3" />', "")
    with pytest.raises(ConfigError, match="lane_tier3.*tier"):
        build_deployment(sources)


def test_an_unknown_role_or_status_is_a_model_problem():
    sources = _sources_with('value="desk,admin"', 'value="desk,cashier"')
    model = model_from_sources(sources, "zhicheng_declaration")
    assert [(p.element_id, "cashier" in p.message) for p in model.problems] == [("onsite_confirm", True)]


EXAMPLE = Path(__file__).resolve().parents[2] / "bpmn" / "scenarios" / "expert_precheck"


def test_the_example_with_an_added_stage_checks_clean_and_orders_it():
    from engine.bpmn_check import check_bpmn

    campaign = EXAMPLE / "campaigns" / "cq-2020-expert-pilot.toml"
    assert [str(p) for p in check_bpmn(EXAMPLE, campaign)] == []
    model = load_deployment(EXAMPLE, campaign).model
    assert model.order[5:7] == ("committee_precheck", "committee_review")
    assert model.after("committee_precheck") == "committee_review"
    assert model.stages["committee_precheck"].tier == "committee"


@pytest.mark.parametrize("path", sorted((EXAMPLE / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_example_scenarios_pass(path):
    from engine.scenario import run_scenario

    result = run_scenario(path, EXAMPLE)
    assert result.ok, "\n".join(f"{s.label}: {f}" for s in result.steps for f in s.failures)
