"""The declaration's series decides its committee, through the whole persisted chain: the committee's inbox,
its scope, the onsite desk and the dashboard follow the series, not the parent of tier 3; replay agrees."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from calendars import TZ
from engine import dashboard
from engine.accounts.models import Membership, Org, User
from engine.audit.verify import verify_application
from engine.errors import NotFound, NotPermitted
from engine.store import queries, services, worker
from engine.store.tables import ApplicationRow

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
ECONOMIST = {**DECLARATION, "series": "senior_economist_full", "title_sought": "正高级经济师"}
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}
CONFIRM = {
    "decision": "approve",
    "review_form_copies": 2,
    "notice_form_copies": 15,
    "fee_paid": True,
    "receipt_number": "CQ2020-0002",
}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


@pytest.fixture
def econ(session_factory, clock, world):
    """The tree's committee takes engineering; a second committee, parent of nobody, takes economics."""
    with session_factory() as s:
        s.get(Org, world.orgs["committee"]).series_codes = "senior_engineer_full"
        econ = Org(
            type="committee",
            name="经济系列评委会",
            status="active",
            series_codes="senior_economist_full,senior_economist",
            created_at=clock.now(),
        )
        s.add(econ)
        s.flush()
        ids = {}
        for name, role in (("econ_staff", "reviewer"), ("econ_desk", "desk")):
            user = User(username=name, real_name=name, password_hash="!", created_at=clock.now())
            s.add(user)
            s.flush()
            s.add(Membership(user_id=user.id, org_id=econ.id, role=role))
            ids[name] = user.id
        s.commit()
        return econ.id, ids


def _do(session_factory, clock, app_id, stage, user_id, data):
    with session_factory() as s:
        services.perform_task(s, clock, app_id, stage, queries.actor_for(s, user_id), data)


def test_economics_declaration_goes_to_the_economics_committee(session_factory, clock, world, econ):
    econ_id, econ_users = econ
    u = world.users
    with session_factory() as s:
        eng_app = services.start_application(s, clock, u["alice"], world.orgs["unit_a"])
        econ_app = services.start_application(s, clock, u["bob"], world.orgs["unit_a"])
    clock.set(at(11, 20))
    _do(session_factory, clock, eng_app, "applicant_submit", u["alice"], DECLARATION)
    _do(session_factory, clock, econ_app, "applicant_submit", u["bob"], ECONOMIST)
    with session_factory() as s:
        assert s.get(ApplicationRow, econ_app).committee_id == econ_id
        assert s.get(ApplicationRow, eng_app).committee_id == world.orgs["committee"]
    clock.set(at(11, 23))
    for app_id in (eng_app, econ_app):
        _do(session_factory, clock, app_id, "unit_review", u["unit_a_admin"], APPROVE)
    clock.set(at(12, 1))
    worker.tick(session_factory, clock)
    for app_id in (eng_app, econ_app):
        _do(session_factory, clock, app_id, "unit_report", u["unit_a_admin"], APPROVE)
        _do(session_factory, clock, app_id, "tier2_review", u["dept_reviewer"], APPROVE)
        _do(session_factory, clock, app_id, "tier3_review", u["hr_reviewer"], APPROVE)
    with session_factory() as s:
        econ_inbox = [i.application_id for i in queries.inbox(s, clock, econ_id)]
        eng_inbox = [i.application_id for i in queries.inbox(s, clock, world.orgs["committee"])]
        assert (econ_inbox, eng_inbox) == ([econ_app], [eng_app])
        # The tree's committee neither sees nor acts on the economics declaration.
        with pytest.raises(NotFound):
            queries.application_view(s, econ_app, u["committee_staff"])
    with pytest.raises((NotPermitted, NotFound)):
        _do(session_factory, clock, econ_app, "committee_review", u["committee_staff"], APPROVE)
    _do(session_factory, clock, econ_app, "committee_review", econ_users["econ_staff"], APPROVE)
    clock.set(at(12, 23))
    with pytest.raises((NotPermitted, NotFound)):
        _do(session_factory, clock, econ_app, "onsite_confirm", u["desk"], CONFIRM)
    _do(session_factory, clock, econ_app, "onsite_confirm", econ_users["econ_desk"], CONFIRM)
    with session_factory() as s:
        assert s.get(ApplicationRow, econ_app).status == "confirmed"
        # Each committee's dashboard counts its own series only.
        table = dashboard.counts(
            s, dashboard.Scope(econ_id, "经济系列评委会", "committee"), dashboard.Filters(), []
        )
        assert table.total == 1 and table.totals == {"confirmed": 1}
        eng = dashboard.counts(
            s, dashboard.Scope(world.orgs["committee"], "工程", "committee"), dashboard.Filters(), []
        )
        assert eng.total == 1 and eng.totals == {"committee_review": 1}
        # Replay from the history reaches the same state, committee included.
        assert verify_application(s, econ_app).ok
        assert verify_application(s, eng_app).ok
        assert s.scalar(select(ApplicationRow.committee_id).where(ApplicationRow.id == econ_app)) == econ_id
