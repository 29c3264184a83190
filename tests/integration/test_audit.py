"""Audit: replay verifies untouched histories and catches each kind of tampering; bundles verify offline."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, update

from calendars import TZ
from engine.audit.bundle import export_bundle, verify_bundle
from engine.audit.verify import verify_application
from engine.runtime import Actor
from engine.store import services
from engine.store.tables import HistoryEvent, WorkflowState
from engine.store.worker import tick
from tests.snapshots import snapshot_now

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2020, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def app_id(session_factory, world, clock):
    """alice's application, returned by the unit once, corrected, then approved into the public notice."""
    u = world.users
    unit = Actor(u["unit_a_admin"], frozenset({(world.orgs["unit_a"], "admin")}), "unit_a_admin")
    with session_factory() as s:
        app_id = services.start_application(s, clock, u["alice"], world.orgs["unit_a"])
        clock.set(at(11, 18))
        services.complete_task(
            s, clock, app_id, "applicant_submit", Actor(u["alice"], name="alice"), dict(DECLARATION)
        )
        clock.set(at(11, 19))
        services.complete_task(
            s,
            clock,
            app_id,
            "unit_review",
            unit,
            {"decision": "return", "opinion": "材料不完整，请补正后提交。", "reason": "缺学位证书"},
        )
        clock.set(at(11, 20))
        services.complete_task(
            s, clock, app_id, "applicant_correct", Actor(u["alice"], name="alice"), dict(DECLARATION)
        )
        clock.set(at(11, 20, 15, 30))
        services.complete_task(s, clock, app_id, "unit_review", unit, dict(APPROVE))
    clock.set(at(11, 28, 9))  # the notice (ends 24:00 11-27) has run: the tick fires it
    tick(session_factory, clock)
    return app_id


def test_untouched_history_verifies(session_factory, app_id):
    with session_factory() as s:
        result = verify_application(s, app_id)
    assert result.ok, result.problems
    assert result.events >= 6


def test_edited_event_data_is_detected(session_factory, app_id):
    with session_factory() as s:
        s.execute(
            update(HistoryEvent)
            .where(HistoryEvent.application_id == app_id, HistoryEvent.seq == 3)
            .values(data_json=HistoryEvent.data_json + " ")
        )
        s.commit()
        result = verify_application(s, app_id)
    assert not result.ok and "第 3 条记录" in str(result.problems[0])


def test_deleted_event_is_detected(session_factory, app_id):
    with session_factory() as s:
        s.execute(delete(HistoryEvent).where(HistoryEvent.application_id == app_id, HistoryEvent.seq == 2))
        s.commit()
        result = verify_application(s, app_id)
    assert not result.ok and "哈希链断裂" in str(result.problems[0])


def test_edited_workflow_state_is_detected(session_factory, app_id, clock):
    with session_factory() as s:
        state = snapshot_now(s, app_id, clock)  # as the store writes one every SNAPSHOT_EVERY events
        tampered = re.sub(r'"applicant_id":(\d+)', r'"applicant_id":9\1', state)
        assert tampered != state
        s.execute(
            update(WorkflowState).where(WorkflowState.application_id == app_id).values(state_json=tampered)
        )
        s.commit()
        result = verify_application(s, app_id)
    assert not result.ok and "不一致" in str(result.problems[0])


def test_bundle_round_trip_and_tampered_bundle(session_factory, app_id):
    with session_factory() as s:
        bundle = json.loads(json.dumps(export_bundle(s, app_id)))
    assert verify_bundle(bundle).problems == []
    assert bundle["versions"]["spiffworkflow"].startswith("3.2")
    edited = json.loads(json.dumps(bundle))
    edited["events"][2]["data"]["form"]["opinion"] = "改过的意见"
    assert "哈希链断裂" in str(verify_bundle(edited).problems[0])
    edited = json.loads(json.dumps(bundle))
    edited["deployment"]["sources"]["campaigns/cq-2020-senior.toml"] += "\n# edit"
    assert "内容哈希" in str(verify_bundle(edited).problems[0])


def test_verify_bundle_cli(session_factory, app_id, tmp_path, clock):
    from click.testing import CliRunner

    from webapp.cli import cli

    with session_factory() as s:
        snapshot_now(s, app_id, clock)
        bundle = export_bundle(s, app_id)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", "verify-bundle", str(good)])
    assert result.exit_code == 0 and "通过" in result.output
    bundle["state"] = re.sub(r'"applicant_id":(\d+)', r'"applicant_id":9\1', bundle["state"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", "verify-bundle", str(bad)])
    assert result.exit_code == 1 and "不一致" in result.output


def test_auditor_search_timeline_and_replay_steps(session_factory, app_id, world):
    from engine.audit import queries
    from engine.errors import NotPermitted

    auditor = world.users["auditor"]
    with session_factory() as s:
        rows = queries.search(s, auditor, applicant="alice")
        assert [r.id for r in rows] == [app_id]
        assert queries.search(s, auditor, status="confirmed") == []
        row, entries = queries.timeline(s, app_id, auditor)
        kinds = [e.event_type for e in entries]
        assert kinds[0] == "started" and "timer_fired" in kinds
        returned = next(e for e in entries if e.decision == "退回补正")  # the form's own word, never "return"
        assert returned.reason == "缺学位证书" and returned.org_name
        assert ("原因", "（无）", "缺学位证书") in returned.changes
        fired = next(e for e in entries if e.event_type == "timer_fired")
        assert fired.label == "单位公示期满"
        submitted = next(e for e in entries if e.event_type == "completed" and e.stage == "applicant_submit")
        assert len(submitted.attachments) == 4 and not any(
            a.startswith("sha256") for a in submitted.attachments
        )
        step = queries.replay_step(s, app_id, auditor, 3)
        assert step.total == len(entries) and step.status == "退回补正"
        assert all(not name.isascii() for name, _ in step.data)  # field names in Chinese
        assert "current" in step.svg and 'data-element-id="applicant_correct"' in step.svg
        with pytest.raises(NotPermitted):
            queries.search(s, world.users["unit_a_admin"])
        with pytest.raises(NotPermitted):
            queries.timeline(s, app_id, world.users["bob"])


def test_district_auditor_sees_only_their_district(session_factory, app_id, world):
    from engine.accounts.models import User
    from engine.audit import queries
    from engine.errors import NotFound

    with session_factory() as s:
        city_scope = s.get(User, world.users["auditor"])
        city_scope.auditor_scope_org_id = world.orgs["city_dept"]
        s.commit()
        assert queries.search(s, city_scope.id) == []
        with pytest.raises(NotFound):
            queries.timeline(s, app_id, city_scope.id)
        city_scope.auditor_scope_org_id = world.orgs["hr"]
        s.commit()
        assert [r.id for r in queries.search(s, city_scope.id)] == [app_id]


def test_audit_verify_cli_exit_codes(session_factory, app_id, database_url, monkeypatch):
    from click.testing import CliRunner

    from webapp.cli import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "verify", "--all"])
    assert result.exit_code == 0, result.output
    assert "1 份通过，0 份不一致" in result.output
    with session_factory() as s:
        s.execute(
            update(HistoryEvent)
            .where(HistoryEvent.application_id == app_id, HistoryEvent.seq == 2)
            .values(stage="unit_report")
        )
        s.commit()
    result = runner.invoke(cli, ["audit", "verify", str(app_id)])
    assert result.exit_code == 1
    assert "第 2 条记录" in result.output
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 2


def test_verify_bundle_cli_whose_state_is_not_json(session_factory, app_id, tmp_path):
    from click.testing import CliRunner

    from webapp.cli import cli

    with session_factory() as s:
        bundle = export_bundle(s, app_id)
    bundle["state"] = "not json{"
    f = tmp_path / "state.json"
    f.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", "verify-bundle", str(f)])
    assert result.exit_code == 1 and "流程状态不是合法的 JSON" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
