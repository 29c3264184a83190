"""The in-memory runtime: clocked timers, save/restore at every waiting point, typed refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from calendars import TZ
from engine import rules
from engine.clock import SimulatedClock
from engine.deployment import load_deployment
from engine.errors import AlreadyHandled, FormInvalid, NotPermitted, NotYetOpen
from engine.runtime import Actor, Application, EngineError

DECLARATION = yaml.safe_load(
    (Path(__file__).parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
CHAIN = {"unit": 10, "tier2": 20, "tier3": 30, "committee": 40}
APPLICANT = Actor(1, frozenset(), "申报人")
UNIT = Actor(2, frozenset({(10, "admin")}), "单位管理员")
TIER2 = Actor(3, frozenset({(20, "reviewer")}))
TIER3 = Actor(4, frozenset({(30, "reviewer")}))
COMMITTEE = Actor(5, frozenset({(40, "reviewer")}))
DESK = Actor(6, frozenset({(40, "desk")}))
APPROVE = {"decision": "approve", "opinion": "材料真实完备，同意推荐上报。"}
ONSITE = {
    "decision": "approve",
    "review_form_copies": 2,
    "notice_form_copies": 15,
    "fee_paid": True,
    "receipt_number": "CQ2020-0001",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture(scope="module")
def deployment():
    return load_deployment()


@pytest.fixture
def clock():
    return SimulatedClock(at("2020-11-17T09:00"))


def restored(app: Application) -> Application:
    """Save and restore, as SpiffWorkflow's own save_restore() does, at a waiting point."""
    state = app.to_json()
    again = Application.restore(app.deployment, state, app.clock)
    assert again.status() == app.status()
    assert again.due_timers() == app.due_timers()
    assert again.ready_tasks() == app.ready_tasks()
    return again


# The straight path, with a save/restore at every waiting point and times from the 2020 notice.
PATH = [
    ("2020-11-20T10:00", "applicant_submit", APPLICANT, DECLARATION, "submitted"),
    ("2020-11-26T16:00", "unit_review", UNIT, APPROVE, "public_notice"),
    ("2020-12-04T09:00", "unit_report", UNIT, APPROVE, "in_review"),
    ("2020-12-08T09:00", "tier2_review", TIER2, APPROVE, "in_review"),
    ("2020-12-10T09:00", "tier3_review", TIER3, APPROVE, "in_review"),
    ("2020-12-15T09:00", "committee_review", COMMITTEE, APPROVE, "accepted"),
    ("2020-12-23T09:00", "onsite_confirm", DESK, ONSITE, "confirmed"),
]


def test_save_restore_at_every_waiting_point_and_timers_still_fire(deployment, clock):
    app = restored(Application.start(deployment, clock, applicant_id=1, chain=CHAIN))
    for when, stage, actor, data, status in PATH:
        clock.set(at(when))
        app = restored(app)
        app.complete(stage, actor, dict(data))
        app = restored(app)
        assert app.status().status == status
        if status == "public_notice":
            # the notice timer fires on the injected clock after a restore: 24:00 of 2020-12-03
            clock.set(at("2020-12-03T23:59"))
            app = restored(app)
            assert app.advance() == []
            clock.set(at("2020-12-04T00:00"))
            fired = restored(app).advance()
            assert [t.name for t in fired] == ["public_notice"]
            app = restored(app)
            app.advance()
            assert app.status().stage == "unit_report"
    assert app.status().status == "confirmed"


def test_deadline_fires_on_the_injected_clock_after_restore(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    clock.set(at("2020-11-23T23:59"))
    app = restored(app)
    app.advance()
    assert app.status().status == "draft"
    clock.set(at("2020-11-24T00:00"))
    app = restored(app)
    assert [t.name for t in app.advance()] == ["deadline_applicant_submit"]
    status = app.status()
    assert (status.status, status.stage, status.responsible_org) == ("expired", "applicant_submit", None)


def test_state_json_holds_no_spec_and_uses_stock_timer_type_names(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    state = json.loads(app.to_json())
    assert "spec" not in state and "subprocess_specs" not in state
    spec_text = json.dumps(deployment.spec_json)
    assert '"TimeDateEventDefinition"' in spec_text
    assert "Clocked" not in spec_text


def test_action_before_window_opens_is_refused_and_changes_nothing(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    for when, stage, actor, data, _ in PATH[:6]:
        clock.set(at(when))
        app.complete(stage, actor, dict(data))
        if stage == "unit_review":
            clock.set(at("2020-12-04T08:00"))
            app.advance()
    before = app.to_json()
    clock.set(at("2020-12-20T09:00"))
    with pytest.raises(NotYetOpen, match="12月23日起可办理（2020-12-23 开放）"):
        app.complete("onsite_confirm", DESK, dict(ONSITE))
    assert json.loads(app.to_json())["tasks"] == json.loads(before)["tasks"]


def test_action_at_the_deadline_is_refused(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    clock.set(at("2020-11-24T00:00"))
    with pytest.raises(Exception, match="已结束（逾期失效）"):
        app.complete("applicant_submit", APPLICANT, dict(DECLARATION))


@pytest.mark.parametrize(
    "actor", [UNIT, TIER2, Actor(99, frozenset({(10, "desk")}))], ids=["unit-admin", "tier2", "desk-of-unit"]
)
def test_only_the_applicant_submits(deployment, clock, actor):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    with pytest.raises(NotPermitted):
        app.complete("applicant_submit", actor, dict(DECLARATION))


def test_reviewer_of_another_org_is_refused(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    app.complete("applicant_submit", APPLICANT, dict(DECLARATION))
    other_unit = Actor(7, frozenset({(11, "admin")}))
    with pytest.raises(NotPermitted, match="不是本申请书当前审核单位"):
        app.complete("unit_review", other_unit, dict(APPROVE))


def test_invalid_form_names_the_field_and_changes_nothing(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    app.complete("applicant_submit", APPLICANT, dict(DECLARATION))
    before = app.to_json()
    with pytest.raises(FormInvalid) as info:
        app.complete("unit_review", UNIT, {"decision": "return", "opinion": "短"})
    assert set(info.value.errors) == {"reason"}  # a return needs its reason; a short opinion is no fault
    with pytest.raises(FormInvalid) as info:
        app.complete("unit_review", UNIT, {"decision": "approve", "opinion": "短"})
    assert set(info.value.errors) == {"opinion"}
    assert app.to_json() == before


def test_double_submit_is_already_handled(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    app.complete("applicant_submit", APPLICANT, dict(DECLARATION))
    with pytest.raises(AlreadyHandled, match="可能已被处理"):
        app.complete("applicant_submit", APPLICANT, dict(DECLARATION))


def test_stale_decision_is_cleared_when_a_stage_is_redone(deployment, clock):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    app.complete("applicant_submit", APPLICANT, dict(DECLARATION))
    app.complete(
        "unit_review", UNIT, {"decision": "return", "opinion": "材料不完整，请补正。", "reason": "缺学位证"}
    )
    app.complete("applicant_correct", APPLICANT, dict(DECLARATION))
    assert "decision" not in app.data and "reason" not in app.data
    app.complete("unit_review", UNIT, dict(APPROVE))
    assert app.status().status == "public_notice"
    assert [r["decision"] for r in app.data["reviews"]] == ["return", "approve"]


def test_workflow_that_raises_is_reset(deployment, clock, monkeypatch):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    before = app.to_json()

    original = Application._apply

    def boom(self, task, *args):
        original(self, task, *args)  # the task data is already changed when the failure strikes
        raise RuntimeError("gateway blew up")

    monkeypatch.setattr(Application, "_apply", boom)
    with pytest.raises(EngineError, match="操作未生效"):
        app.complete("applicant_submit", APPLICANT, dict(DECLARATION))
    monkeypatch.undo()
    assert app.to_json() == before
    assert app.status().stage == "applicant_submit"


def test_incomplete_chain_is_refused(deployment, clock):
    with pytest.raises(Exception, match="审核链不完整"):
        Application.start(deployment, clock, applicant_id=1, chain={"unit": 1, "tier3": None, "committee": 3})


def test_return_cycle_rules_follow_the_notice(deployment):
    c, m = deployment.campaign, deployment.model
    d = lambda s: s.astimezone(TZ).date().isoformat()  # noqa: E731  (24:00 reads as the next day)
    assert d(rules.stage_deadline(m, c, "applicant_correct", "tier2_review")) == "2020-12-15"
    assert d(rules.stage_deadline(m, c, "unit_review", "tier2_review")) == "2020-12-15"
    assert d(rules.stage_deadline(m, c, "tier3_review", "tier2_review")) == "2020-12-15"
    assert d(rules.stage_deadline(m, c, "applicant_correct", "committee_review")) == "2020-12-21"
    assert d(rules.stage_deadline(m, c, "committee_review", "committee_review")) == "2020-12-23"
    assert d(rules.stage_deadline(m, c, "onsite_confirm", "committee_review")) == "2020-12-26"
    assert rules.actionable_from(m, c, "tier2_review", "tier3_review") is None
    assert rules.actionable_from(m, c, "tier2_review", None) == c.opens_at("tier2_review")


def test_timers_ignore_the_wall_clock(deployment):
    # 2020 is long past on the wall clock; nothing may fire until the simulated clock says so.
    clock = SimulatedClock(at("2020-11-17T09:00"))
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    assert app.advance() == []
    clock.advance(timedelta(days=3))
    assert app.advance() == [] and app.status().status == "draft"


def test_without_snapshots_a_failed_action_leaves_the_object_unusable(deployment, clock, monkeypatch):
    app = Application.start(deployment, clock, applicant_id=1, chain=CHAIN)
    app.reset_on_error = False
    monkeypatch.setattr(Application, "_apply", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(EngineError):
        app.complete("applicant_submit", APPLICANT, dict(DECLARATION))
    assert app.workflow is None
