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
    assert load_deployment().engine_version == 2  # no lane names an org type: read as engine version 2 did
    assert ENGINE_VERSION == 3


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
    assert model.order[4:8] == ("tier3_review", "city_recheck", "committee_precheck", "committee_review")
    assert model.after("committee_precheck") == "committee_review"
    assert model.stages["committee_precheck"].tier == "committee"
    # the new tier's lane names the org type that acts; the deployment needs engine version 3 to be read
    city = model.stages["city_recheck"]
    assert (city.lane, city.tier, city.label) == ("市职称改革办公室", "city_hr_office", "市职改办复核")
    assert model.org_types == {"city_hr_office": "city_hr_office"}
    assert load_deployment(EXAMPLE, campaign).engine_version == 3


@pytest.mark.parametrize(
    "prop, fragment",
    [
        ('name="tier" value="nonsense"', "tier 'nonsense' 不是审核链层级"),
        ('name="orgType" value="nonsense"', "orgType 'nonsense' 不是已知的机构类型"),
        (
            'name="tier" value="tier3" /><spiffworkflow:property name="orgType" value="city_hr_office"',
            "同时写了",
        ),
        ('name="tier" value="Tier-3"', "不合规"),
    ],
)
def test_a_lane_whose_tier_cannot_be_resolved_is_refused_naming_the_lane(prop, fragment):
    sources = _sources_with('name="tier" value="tier3"', prop)
    model = model_from_sources(sources, "zhicheng_declaration")
    assert [p.element_id for p in model.problems] == ["lane_tier3"]
    assert fragment in model.problems[0].message and "三级审核" in model.problems[0].message
    with pytest.raises(ConfigError, match="lane_tier3"):
        build_deployment(sources)


def test_choosing_the_acting_org_of_a_new_tier():
    from engine.accounts.errors import ChainIncomplete
    from engine.accounts.tiers import choose_acting_org

    tree = [
        (1, "unit", "active", "单位"),
        (2, "district_dept", "active", "主管"),
        (3, "committee", "active", "评委会"),
    ]
    assert choose_acting_org("district_dept", "复核", tree, [2, 9]) == 2  # the ancestor, though others exist
    assert choose_acting_org("city_hr_office", "复核", tree, [7]) == 7  # else the only active one
    with pytest.raises(ChainIncomplete, match="“复核”环节由市职称改革办公室办理，但系统中没有"):
        choose_acting_org("city_hr_office", "复核", tree, [])
    with pytest.raises(ChainIncomplete, match="有多个"):
        choose_acting_org("city_hr_office", "复核", tree, [7, 8])
    with pytest.raises(ChainIncomplete, match="未启用"):
        choose_acting_org("district_dept", "复核", [(2, "district_dept", "pending", "主管")], [])


@pytest.mark.parametrize("path", sorted((EXAMPLE / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_example_scenarios_pass(path):
    from engine.scenario import run_scenario

    result = run_scenario(path, EXAMPLE)
    assert result.ok, "\n".join(f"{s.label}: {f}" for s in result.steps for f in s.failures)
