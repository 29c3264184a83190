"""A lane for a new tier with edits under bpmn/ only (issue 10): a copy of the shipped folder gains a lane
naming the org type that acts (`orgType`), a review stage in it with its form, its window in the campaign
file and its deadline timer; it checks clean, deploys beside the 2020 campaign and an application climbs
through it, returned and approved there. A lane whose tier cannot be resolved is refused by `bpmn check`
and `deploy`, naming the lane. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from calendars import TZ
from engine.accounts.models import Membership, Org, User
from engine.bpmn_check import check_bpmn
from engine.campaign import load_campaign
from engine.campaign_lint import default_model, lint_campaign
from engine.deployment import build_deployment, read_sources
from engine.errors import ConfigError
from engine.paths import bpmn_dir
from engine.store import queries, services, worker
from webapp.cli.bpmn import bpmn_cli

DECLARATION = yaml.safe_load((bpmn_dir() / "scenarios/data/declaration.yaml").read_text(encoding="utf-8"))
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}

CAMPAIGN = "campaigns/cq-2020-senior.toml"
NEW_ID = "cq-2020-industry-pilot"

LANE = """      <bpmn:lane id="lane_city" name="市职称改革办公室">
        <bpmn:extensionElements>
          <spiffworkflow:properties>
            <spiffworkflow:property name="orgType" value="{org_type}" />
          </spiffworkflow:properties>
        </bpmn:extensionElements>
        <bpmn:flowNodeRef>city_recheck</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>gw_city_recheck</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>deadline_city_recheck</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>lapsed_city_recheck</bpmn:flowNodeRef>
      </bpmn:lane>
"""
ELEMENTS = """    <bpmn:userTask id="city_recheck" name="市职改办复核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="city_recheck.schema.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw_city_recheck" name="复核结果" />
    <bpmn:boundaryEvent id="deadline_city_recheck" name="截止" attachedToRef="city_recheck" cancelActivity="true">
      <bpmn:timerEventDefinition id="deadline_city_recheck_timer">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">stage_deadline("city_recheck", return_stage)</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="lapsed_city_recheck" name="逾期失效" />
    <bpmn:sequenceFlow id="flow_city_1" sourceRef="city_recheck" targetRef="gw_city_recheck" />
    <bpmn:sequenceFlow id="flow_city_2" name="复核通过" sourceRef="gw_city_recheck" targetRef="committee_review">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_city_3" name="退回补正" sourceRef="gw_city_recheck" targetRef="record_return">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "return"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_city_4" sourceRef="deadline_city_recheck" targetRef="lapsed_city_recheck" />
  </bpmn:process>
"""
SHAPES = """      <bpmndi:BPMNShape id="lane_city_di" bpmnElement="lane_city" isHorizontal="true">
        <dc:Bounds x="150" y="1210" width="2730" height="230" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="city_recheck_di" bpmnElement="city_recheck">
        <dc:Bounds x="1990" y="1250" width="120" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="gw_city_recheck_di" bpmnElement="gw_city_recheck" isMarkerVisible="true">
        <dc:Bounds x="2175" y="1265" width="50" height="50" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="deadline_city_recheck_di" bpmnElement="deadline_city_recheck">
        <dc:Bounds x="2060" y="1312" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lapsed_city_recheck_di" bpmnElement="lapsed_city_recheck">
        <dc:Bounds x="2032" y="1377" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_city_1_di" bpmnElement="flow_city_1">
        <di:waypoint x="2110" y="1290" />
        <di:waypoint x="2175" y="1290" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_city_2_di" bpmnElement="flow_city_2">
        <di:waypoint x="2225" y="1290" />
        <di:waypoint x="2350" y="1290" />
        <di:waypoint x="2350" y="1100" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_city_3_di" bpmnElement="flow_city_3">
        <di:waypoint x="2200" y="1315" />
        <di:waypoint x="2200" y="1420" />
        <di:waypoint x="850" y="1420" />
        <di:waypoint x="850" y="180" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_city_4_di" bpmnElement="flow_city_4">
        <di:waypoint x="2078" y="1348" />
        <di:waypoint x="2078" y="1395" />
        <di:waypoint x="2068" y="1395" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
"""
FORM = """{
  "type": "object",
  "additionalProperties": false,
  "required": ["decision", "opinion"],
  "properties": {
    "decision": {"type": "string", "title": "复核结果", "oneOf": [
      {"const": "approve", "title": "复核通过"}, {"const": "return", "title": "退回补正"}]},
    "opinion": {"type": "string", "title": "复核意见", "minLength": 2, "maxLength": 500},
    "reason": {"type": "string", "title": "退回原因", "maxLength": 500}
  }
}
"""
WINDOW = """
[stages.city_recheck]                      # 新层级：市职改办复核
opens = 2020-11-26
closes = 2020-12-15
"""


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def policy_copy(tmp_path: Path, org_type: str = "city_hr_office") -> Path:
    """bpmn/ copied, then edited as policy staff would: XML, a form file and TOML, nothing else."""
    root = tmp_path / "bpmn"
    shutil.copytree(bpmn_dir(), root, ignore=shutil.ignore_patterns("scenarios"))
    bpmn = root / "declaration.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    text = _replace(text, "    </bpmn:laneSet>\n", LANE.format(org_type=org_type) + "    </bpmn:laneSet>\n")
    text = _replace(
        text,
        'sourceRef="gw_tier3" targetRef="committee_review"',
        'sourceRef="gw_tier3" targetRef="city_recheck"',
    )
    text = _replace(text, "  </bpmn:process>\n", ELEMENTS)
    text = _replace(text, "    </bpmndi:BPMNPlane>\n", SHAPES)
    text = _replace(text, 'width="2760" height="1150"', 'width="2760" height="1380"')
    bpmn.write_text(text, encoding="utf-8")
    (root / "forms" / "city_recheck.schema.json").write_text(FORM, encoding="utf-8")
    campaign = root / CAMPAIGN
    toml = _replace(campaign.read_text(encoding="utf-8"), 'id = "cq-2020-senior"', f'id = "{NEW_ID}"')
    toml = _replace(toml, "[stages.committee_review]", WINDOW.lstrip() + "\n[stages.committee_review]")
    campaign.write_text(toml, encoding="utf-8")
    return root


def test_the_edited_copy_checks_clean_and_reads_the_new_tier(tmp_path):
    root = policy_copy(tmp_path)
    assert [str(p) for p in check_bpmn(root, root / CAMPAIGN)] == []
    model = build_deployment(read_sources(root, root / CAMPAIGN)).model
    assert model.after("tier3_review") == "city_recheck"
    assert model.stages["city_recheck"].tier == "city_hr_office"
    assert model.org_types == {"city_hr_office": "city_hr_office"}


def test_bpmn_check_and_deploy_refuse_a_lane_whose_org_type_is_unknown(tmp_path, session_factory, clock):
    root = policy_copy(tmp_path, org_type="industry_assoc")
    problems = [str(p) for p in check_bpmn(root, root / CAMPAIGN)]
    assert len(problems) == 1
    assert "lane_city" in problems[0] and "泳道“市职称改革办公室”的 orgType 'industry_assoc'" in problems[0]
    assert "city_hr_office" in problems[0]  # the fix: the known types
    result = CliRunner().invoke(bpmn_cli, ["check", str(root), "--campaign", str(root / CAMPAIGN)])
    assert result.exit_code == 1 and "lane_city" in result.output + (result.stderr or "")
    findings = lint_campaign(load_campaign(root / CAMPAIGN), model=default_model(None, root / CAMPAIGN))
    assert [(f.level, f.key) for f in findings] == [("error", "lane_city")]
    assert "industry_assoc" in findings[0].message
    with session_factory() as session, pytest.raises(ConfigError, match="lane_city"):
        services.deploy(session, clock, read_sources(root, root / CAMPAIGN))


def test_an_application_climbs_through_the_new_tier(tmp_path, session_factory, clock, world):
    root = policy_copy(tmp_path)
    with session_factory() as session:
        office = Org(type="city_hr_office", name="市职改办", status="active", created_at=clock.now())
        session.add(office)
        session.flush()
        reviewer = User(
            username="city", real_name="市职改办审核人", password_hash="!", created_at=clock.now()
        )
        session.add(reviewer)
        session.flush()
        session.add(Membership(user_id=reviewer.id, org_id=office.id, role="reviewer"))
        session.commit()
        office_id, reviewer_id = office.id, reviewer.id
        info = services.deploy(session, clock, read_sources(root, root / CAMPAIGN))  # the office exists
        assert info.campaign_id == NEW_ID

    def act(session, app_id, stage, user_id, data):
        return services.complete_task(
            session, clock, app_id, stage, queries.actor_for(session, user_id), data
        )

    clock.set(at(11, 18))
    with session_factory() as session:
        app_id = services.start_application(
            session, clock, world.users["alice"], world.orgs["unit_a"], NEW_ID
        )
        act(session, app_id, "applicant_submit", world.users["alice"], DECLARATION)
        clock.set(at(11, 19))
        act(session, app_id, "unit_review", world.users["unit_a_admin"], APPROVE)
    clock.set(at(11, 27, 9))
    worker.tick(session_factory, clock)  # the public notice ends
    with session_factory() as session:
        act(session, app_id, "unit_report", world.users["unit_a_admin"], APPROVE)
        act(session, app_id, "tier2_review", world.users["dept_reviewer"], APPROVE)
        view = act(session, app_id, "tier3_review", world.users["hr_reviewer"], APPROVE)
        assert (view.stage, view.stage_label, view.waiting_org.id) == (
            "city_recheck",
            "市职改办复核",
            office_id,
        )
        assert view.deadline == at(12, 16, 0)  # the window's last day, 12-15 24:00
        assert [i.stage for i in queries.inbox(session, clock, office_id)] == ["city_recheck"]
        returned = {"decision": "return", "opinion": "缺少证明材料，请补正。", "reason": "补充证明"}
        view = act(session, app_id, "city_recheck", reviewer_id, returned)
        assert (view.status, view.stage) == ("returned", "applicant_correct")
        act(session, app_id, "applicant_correct", world.users["alice"], DECLARATION)
        for stage, who in (
            ("unit_review", "unit_a_admin"),
            ("unit_report", "unit_a_admin"),
            ("tier2_review", "dept_reviewer"),
            ("tier3_review", "hr_reviewer"),
        ):
            view = act(session, app_id, stage, world.users[who], APPROVE)
        assert view.stage == "city_recheck"
        view = act(
            session, app_id, "city_recheck", reviewer_id, {"decision": "approve", "opinion": "复核通过。"}
        )
        assert (view.stage, view.waiting_org.id) == ("committee_review", world.orgs["committee"])
