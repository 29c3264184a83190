"""Fixtures for the workflow pages: a deployed campaign, an org tree with reviewers, page-level actions.

Import into a test module with `from workflow_fixtures import wf  # noqa: F401`.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from engine.accounts import services as acc
from engine.accounts.models import Membership, Org
from engine.clock import SimulatedClock
from engine.deployment import read_sources
from engine.store import services
from engine.store.worker import tick
from webapp.extensions import db

UPLOADS = Path(__file__).resolve().parents[1] / "data" / "uploads"
PW = "secret123"
# 2020-11-18 10:00 Beijing: 申报人填报 and 单位审核 are open.
T0 = datetime(2020, 11, 18, 2, 0, tzinfo=UTC)


def beijing(y, m, d, h=10, mi=0) -> datetime:
    return (
        datetime(y, m, d, h - 8, mi, tzinfo=UTC) if h >= 8 else datetime(y, m, d - 1, h + 16, mi, tzinfo=UTC)
    )


def page_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)


def page_version(html: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, "no version on the page"
    return match.group(1)


def declaration(**overrides) -> dict:
    """A complete, valid declaration as a browser posts it (files as (stream, name))."""
    png = (UPLOADS / "certificate.png").read_bytes()
    pdf = (UPLOADS / "certificate.pdf").read_bytes()
    data = {
        "series": "senior_engineer_full",
        "title_sought": "正高级工程师（土木建筑）",
        "specialty": "土木工程",
        "current_title": "高级工程师",
        "current_title_date": "2012-12-01",
        "education": "大学本科",
        "graduated_school": "重庆大学",
        "graduation_date": "2000-07-01",
        "years_in_field": "20",
        "work_history.0.from": "2000-07-01",
        "work_history.0.employer": "江津建设公司",
        "work_history.0.position": "技术员",
        "work_history.1.from": "",
        "work_history.1.employer": "",
        "achievements": "主持完成江津区滨江路改造工程设计与施工技术管理，获市级优质工程奖。",
        "attachments.id_card__file": (io.BytesIO(png), "id.png"),
        "attachments.diploma__file": (io.BytesIO(pdf), "diploma.pdf"),
        "attachments.title_certificate__file": (io.BytesIO(png), "title.png"),
        "attachments.achievement_evidence__file": (io.BytesIO(pdf), "evidence.pdf"),
        "pledge_confirmed": "on",
        "action": "submit",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class World:
    """The app, its simulated clock, org ids, and one logged-in test client per user."""

    def __init__(self, app, clock, orgs):
        self.app, self.clock, self.orgs = app, clock, orgs
        self._clients = {}

    def client(self, username: str):
        if username not in self._clients:
            c = self.app.test_client()
            html = c.get("/auth/login").get_data(as_text=True)
            r = c.post(
                "/auth/login", data={"username": username, "password": PW, "csrf_token": page_token(html)}
            )
            assert r.status_code == 302, r.get_data(as_text=True)
            self._clients[username] = c
        return self._clients[username]

    def post_page(self, username: str, path: str, data: dict, *, form_from: str | None = None, **kw):
        """POST with the CSRF token (and version, if the page has one) of the page at `form_from`/`path`."""
        c = self.client(username)
        html = c.get(form_from or path, follow_redirects=True).get_data(as_text=True)
        data = {"csrf_token": page_token(html), **data}
        if "version" not in data and 'name="version"' in html:
            data["version"] = page_version(html)
        return c.post(path, data=data, content_type="multipart/form-data", **kw)

    def move_to(self, instant: datetime):
        """Move the engine clock forward and fire what is due, as the worker would."""
        self.clock.set(instant)
        with self.app.app_context():
            return tick(sessionmaker(bind=db.engine), self.clock)

    def start(self, username: str = "applicant", unit: str = "unit_a") -> int:
        r = self.post_page(username, "/apply/start", {"unit_id": str(self.orgs[unit])}, form_from="/apply/")
        assert r.status_code == 302, r.get_data(as_text=True)
        return int(r.headers["Location"].rstrip("/").split("/")[-2])

    def submit(self, app_id: int, username: str = "applicant", **overrides):
        return self.post_page(username, f"/apply/{app_id}/declaration", declaration(**overrides))

    def act(
        self,
        username: str,
        org: str,
        app_id: int,
        stage: str,
        decision: str = "approve",
        opinion: str = "材料真实完整，符合申报条件，同意推荐。",
        **extra,
    ):
        path = f"/review/{self.orgs[org]}/app/{app_id}/task/{stage}"
        return self.post_page(username, path, {"decision": decision, "opinion": opinion, **extra})

    def view(self, app_id: int):
        with self.app.app_context():
            return services.build_view(db.session, app_id)


def _org(session, clock, type_, name, parent, **kw):
    org = Org(
        type=type_,
        name=name,
        parent_id=parent,
        status="active",
        created_at=clock.now(),
        decided_at=clock.now(),
        district=kw.pop("district", "江津区"),
        **kw,
    )
    session.add(org)
    session.flush()
    return org.id


def _user(session, clock, username, real_name, *memberships, operator=False):
    profile = acc.create_staff_user(
        session, clock, username=username, real_name=real_name, password=PW, is_operator=operator
    )
    for org_id, role in memberships:
        session.add(Membership(user_id=profile.id, org_id=org_id, role=role))
    return profile.id


@pytest.fixture
def wf(make_app):
    """A deployed 2020 campaign, the Jiangjin chain (unit → dept → office → committee), reviewers, applicants."""
    clock = SimulatedClock(T0)
    app = make_app(clock=clock)
    with app.app_context():
        s = db.session
        committee = _org(
            s,
            clock,
            "committee",
            "工程系列评委会",
            None,
            series_codes="senior_engineer_full",
            contact_person="评委会办公室",
            contact_phone="023-63000000",
        )
        office = _org(
            s,
            clock,
            "district_hr_office",
            "江津区职改办",
            committee,
            contact_person="李四",
            contact_phone="023-47536971",
        )
        dept = _org(
            s,
            clock,
            "district_dept",
            "江津区住建委",
            office,
            contact_person="王五",
            contact_phone="023-47500001",
        )
        unit_a = _org(
            s, clock, "unit", "江津建设公司", dept, contact_person="赵六", contact_phone="023-47500002"
        )
        unit_b = _org(
            s, clock, "unit", "江津水务公司", dept, contact_person="钱七", contact_phone="023-47500003"
        )
        orgs = {"committee": committee, "office": office, "dept": dept, "unit_a": unit_a, "unit_b": unit_b}
        _user(s, clock, "applicant", "张三")
        _user(s, clock, "applicant2", "孙八")
        _user(s, clock, "unit_a", "单位甲审核员", (unit_a, "reviewer"))
        _user(s, clock, "unit_a2", "单位甲审核员二", (unit_a, "reviewer"))
        _user(s, clock, "unit_b", "单位乙审核员", (unit_b, "reviewer"))
        _user(s, clock, "dept", "住建委审核员", (dept, "reviewer"))
        _user(s, clock, "office", "职改办审核员", (office, "admin"))
        _user(s, clock, "committee", "评委会审核员", (committee, "reviewer"))
        _user(s, clock, "desk", "现场确认员", (committee, "desk"))
        _user(s, clock, "operator", "系统运维", operator=True)
        s.commit()
        services.deploy(s, clock, read_sources())
    return World(app, clock, orgs)
