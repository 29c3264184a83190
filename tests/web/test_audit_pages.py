"""Auditor pages: search, timeline with the diagram, step-by-step replay, verify, export; who may not."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update

from calendars import TZ
from engine.accounts.models import Org, User
from engine.clock import SimulatedClock
from engine.demo import DEMO_PASSWORD, seed_demo
from engine.deployment import read_sources
from engine.store import queries, services
from engine.store.tables import WorkflowState
from tests.snapshots import snapshot_now
from webapp.extensions import db

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)


@pytest.fixture
def audited(make_app):
    """The demo world with one application returned by its unit and corrected."""
    clock = SimulatedClock(datetime(2020, 11, 17, 9, tzinfo=TZ))
    app = make_app(clock=clock)
    with app.app_context():
        s = db.session
        services.deploy(s, clock, read_sources())
        seed_demo(s, clock)
        s.commit()
        users = dict(s.execute(select(User.username, User.id)).all())
        applicant = next(uid for name, uid in users.items() if name.startswith("500116"))
        unit = s.scalar(select(Org.id).where(Org.name == "重庆市江津区建设工程有限公司"))
        app_id = services.start_application(s, clock, applicant, unit)
        clock.set(datetime(2020, 11, 18, 10, tzinfo=TZ))
        services.complete_task(
            s, clock, app_id, "applicant_submit", queries.actor_for(s, applicant), dict(DECLARATION)
        )
        clock.set(datetime(2020, 11, 19, 10, tzinfo=TZ))
        services.complete_task(
            s,
            clock,
            app_id,
            "unit_review",
            queries.actor_for(s, users["unit_a_admin"]),
            {"decision": "return", "opinion": "材料不完整，请补正后提交。", "reason": "缺少学位证书"},
        )
    return app, app_id


def _login(client, username):
    html = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return client.post(
        "/auth/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token}
    )


def test_auditor_searches_reads_the_timeline_and_steps_through_replay(audited):
    app, app_id = audited
    client = app.test_client()
    _login(client, "auditor")
    page = client.get("/audit/?applicant=王建国").get_data(as_text=True)
    assert f'/audit/applications/{app_id}"' in page
    page = client.get(f"/audit/applications/{app_id}").get_data(as_text=True)
    assert "缺少学位证书" in page and "<svg" in page and "退回补正" in page
    step = client.get(f"/audit/applications/{app_id}/replay?step=2").get_data(as_text=True)
    assert "第 2 / 3 步" in step and 'data-element-id="unit_review"' in step
    verify = client.get(f"/audit/applications/{app_id}/verify").get_data(as_text=True)
    assert "通过：哈希链完整" in verify
    bundle = client.get(f"/audit/applications/{app_id}/export")
    assert bundle.status_code == 200 and json.loads(bundle.data)["format"] == "zhicheng-audit-bundle/2"


def test_verify_page_reports_a_tampered_state(audited):
    app, app_id = audited
    with app.app_context():
        state = snapshot_now(db.session, app_id, SimulatedClock(datetime(2020, 12, 1, tzinfo=TZ)))
        db.session.execute(
            update(WorkflowState).values(
                state_json=re.sub(r'"applicant_id":(\d+)', r'"applicant_id":9\1', state)
            )
        )
        db.session.commit()
    client = app.test_client()
    _login(client, "auditor")
    page = client.get(f"/audit/applications/{app_id}/verify").get_data(as_text=True)
    assert "发现不一致" in page


@pytest.mark.parametrize("username", ["unit_a_admin", "committee_staff"])
def test_reviewers_may_not_use_audit_pages(audited, username):
    app, app_id = audited
    client = app.test_client()
    _login(client, username)
    assert client.get("/audit/").status_code == 403
    assert client.get(f"/audit/applications/{app_id}").status_code == 403
    assert client.get(f"/audit/applications/{app_id}/export").status_code == 403


def test_out_of_scope_auditor_gets_not_found(audited):
    app, app_id = audited
    with app.app_context():
        city = db.session.scalar(select(Org.id).where(Org.type == "municipal_dept"))
        db.session.execute(update(User).where(User.username == "auditor").values(auditor_scope_org_id=city))
        db.session.commit()
    client = app.test_client()
    _login(client, "auditor")
    assert f'/audit/applications/{app_id}"' not in client.get("/audit/").get_data(as_text=True)
    assert client.get(f"/audit/applications/{app_id}").status_code == 404
    assert client.get(f"/audit/applications/{app_id}/verify").status_code == 404


def test_anonymous_is_sent_to_login(audited):
    app, _ = audited
    response = app.test_client().get("/audit/")
    assert response.status_code in (302, 401)


def test_diagram_for_the_applicant_and_the_unit_but_not_others(audited):
    app, app_id = audited
    with app.app_context():
        applicant = db.session.scalar(select(User.username).where(User.real_name == "王建国"))
    client = app.test_client()
    _login(client, applicant)
    svg = client.get(f"/diagram/applications/{app_id}.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert 'class="bpmn-userTask current"' in svg.get_data(as_text=True)
    assert f"/diagram/applications/{app_id}.svg" in client.get(f"/apply/{app_id}").get_data(as_text=True)
    unit = app.test_client()
    _login(unit, "unit_a_admin")
    assert unit.get(f"/diagram/applications/{app_id}.svg").status_code == 200
    for outsider in ("unit_m_admin", "500116197503100027"):
        other = app.test_client()
        _login(other, outsider)
        assert other.get(f"/diagram/applications/{app_id}.svg").status_code == 404
