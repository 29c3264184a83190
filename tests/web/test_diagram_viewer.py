"""The bpmn-js diagram's data routes: the pinned deployment's XML and the path, only for who may see the application."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from test_audit_pages import _login, audited  # noqa: F401  (the demo world with one returned application)

from engine.accounts.models import User
from engine.deployment import read_sources
from engine.store import services
from engine.store.tables import ApplicationRow
from webapp.diagram import bpmnjs_assets
from webapp.extensions import db


def _applicant(app) -> str:
    with app.app_context():
        return db.session.scalar(select(User.username).where(User.real_name == "王建国"))


def test_applicant_gets_the_xml_of_the_deployment_the_application_is_pinned_to(audited):  # noqa: F811
    app, app_id = audited
    with app.app_context():
        pinned = db.session.get(ApplicationRow, app_id).deployment_id
        # a newer deployment becomes current: the application keeps drawing its own process
        sources = read_sources()
        sources["declaration.bpmn"] = sources["declaration.bpmn"].replace(
            'name="单位审核"', 'name="单位初审"'
        )
        services.deploy(db.session, app.config["ZHICHENG_CLOCK"], sources, replace=True)
        db.session.commit()
        assert services.current_deployment(db.session).id != pinned
    client = app.test_client()
    _login(client, _applicant(app))
    xml = client.get(f"/diagram/applications/{app_id}.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert xml.headers["Cache-Control"] == "private, no-store"
    body = xml.get_data(as_text=True)
    assert 'name="单位审核"' in body and "单位初审" not in body and "bpmndi:BPMNShape" in body


def test_path_json_marks_the_current_task_and_the_flows_taken(audited):  # noqa: F811
    app, app_id = audited
    client = app.test_client()
    _login(client, "unit_a_admin")
    path = client.get(f"/diagram/applications/{app_id}/path.json")
    assert path.status_code == 200
    data = path.get_json()
    assert data["current"] == ["applicant_correct"]
    assert "unit_review" in data["done"] and "applicant_submit" in data["done"]
    assert "flow_gw_unit_review_to_record_return" in data["flows"]
    assert "flow_gw_unit_review_to_gw_notice" not in data["flows"]


def test_outsiders_get_404_for_the_xml_and_the_path(audited):  # noqa: F811
    app, app_id = audited
    for outsider in ("unit_m_admin", "500116197503100027"):  # a unit of another chain; another applicant
        client = app.test_client()
        _login(client, outsider)
        for route in (f"/diagram/applications/{app_id}.bpmn", f"/diagram/applications/{app_id}/path.json"):
            assert client.get(route).status_code == 404, (outsider, route)
    anonymous = app.test_client()
    assert anonymous.get(f"/diagram/applications/{app_id}.bpmn").status_code in (302, 401)
    missing = app.test_client()
    _login(missing, _applicant(app))
    assert missing.get("/diagram/applications/999999.bpmn").status_code == 404


def test_pages_carry_the_viewer_its_assets_and_the_server_svg_fallback(audited):  # noqa: F811
    app, app_id = audited
    client = app.test_client()
    _login(client, _applicant(app))
    page = client.get(f"/apply/{app_id}").get_data(as_text=True)
    assert f'data-xml-url="/diagram/applications/{app_id}.bpmn"' in page
    assert f'data-path-url="/diagram/applications/{app_id}/path.json"' in page
    assert f'src="/diagram/applications/{app_id}.svg"' in page  # shown until the viewer draws
    with app.test_request_context():
        js = bpmnjs_assets()["js"]
    assert f'src="/static/{js}"' in page and 'src="/static/diagram.js"' in page
    assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style
    assert client.get(f"/static/{js}").status_code == 200

    auditor = app.test_client()
    _login(auditor, "auditor")
    replay = auditor.get(f"/audit/applications/{app_id}/replay?step=2").get_data(as_text=True)
    # the replay step's own path rides along as JSON; its server SVG is the fallback
    marked = json.loads(re.search(r"data-path='([^']*)'", replay).group(1).replace("&#34;", '"'))
    assert marked["current"] == ["unit_review"] and "applicant_submit" in marked["done"]
    assert 'data-element-id="unit_review"' in replay
    assert auditor.get(f"/diagram/applications/{app_id}.bpmn").status_code == 200
