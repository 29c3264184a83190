"""Several campaigns at once (issue 10 items 4, 10): the 2020 campaign and the example with an added stage
take applications side by side, each pinned to its deployment, inboxes mix them, and the added stage runs
end to end through the persisted engine. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from calendars import TZ
from engine.accounts.errors import ChainIncomplete
from engine.accounts.models import Membership, Org, User
from engine.audit.verify import Verifier
from engine.deployment import read_sources
from engine.errors import ActionRefused, CampaignError, ConfigError, NotFound, OutsideWindow
from engine.paths import bpmn_dir
from engine.store import queries, services, worker
from engine.store.tables import ApplicationOrg, ApplicationRow

EXAMPLE = bpmn_dir() / "scenarios" / "expert_precheck"
EXAMPLE_CAMPAIGN = EXAMPLE / "campaigns" / "cq-2020-expert-pilot.toml"
DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


def _city_office(session, clock, world, key="city_office", status="active") -> None:
    """A 市职改办 (outside every unit's chain) with a reviewer: the example's new tier acts through it."""
    org = Org(type="city_hr_office", name=f"测试{key}", status=status, created_at=clock.now())
    session.add(org)
    session.flush()
    user = User(
        username=f"{key}_reviewer", real_name=f"{key}审核人", password_hash="!", created_at=clock.now()
    )
    session.add(user)
    session.flush()
    session.add(Membership(user_id=user.id, org_id=org.id, role="reviewer"))
    session.commit()
    world.orgs[key], world.users[f"{key}_reviewer"] = org.id, user.id


@pytest.fixture
def both(session_factory, clock, world):
    """The world (2020 campaign deployed) plus the example campaign deployed beside it, and the city office
    its new tier's lane (orgType = city_hr_office) resolves to."""
    with session_factory() as session:
        _city_office(session, clock, world)
        info = services.deploy(session, clock, read_sources(EXAMPLE, EXAMPLE_CAMPAIGN))
    assert info.campaign_id == "cq-2020-expert-pilot" and info.is_current
    return world


def _act(session, clock, world, app_id, stage, who, data):
    actor = queries.actor_for(session, world.users[who])
    return services.complete_task(session, clock, app_id, stage, actor, data)


def test_two_campaigns_take_applications_at_once_each_pinned(session_factory, clock, both):
    world = both
    clock.set(at(11, 18))
    with session_factory() as session:
        assert {d.campaign.id for d in services.open_campaigns(session, clock)} == {
            "cq-2020-senior",
            "cq-2020-expert-pilot",
        }
        with pytest.raises(ActionRefused, match="请先选择申报批次"):
            services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        with pytest.raises(NotFound):
            services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"], "cq-2099")
        a = services.start_application(
            session, clock, world.users["alice"], world.orgs["unit_a"], "cq-2020-senior"
        )
        b = services.start_application(
            session, clock, world.users["bob"], world.orgs["unit_b"], "cq-2020-expert-pilot"
        )
        # the same applicant may take part in both campaigns; each application keeps its own deployment
        c = services.start_application(
            session, clock, world.users["alice"], world.orgs["unit_a"], "cq-2020-expert-pilot"
        )
        rows = {r.id: r for r in session.query(ApplicationRow)}
        assert rows[a].deployment_id != rows[b].deployment_id == rows[c].deployment_id
        for app_id, who in ((a, "alice"), (b, "bob"), (c, "alice")):
            _act(session, clock, world, app_id, "applicant_submit", who, DECLARATION)
        items = queries.inbox(session, clock, world.orgs["unit_a"])
        assert sorted((i.application_id, i.campaign_id) for i in items) == [
            (a, "cq-2020-senior"),
            (c, "cq-2020-expert-pilot"),
        ]


def test_only_an_open_campaign_takes_new_applications(session_factory, clock, both):
    clock.set(at(11, 24))  # every submission window has closed
    with session_factory() as session, pytest.raises(OutsideWindow, match="现在不能开始申报"):
        services.start_application(session, clock, both.users["alice"], both.orgs["unit_a"])


def test_a_campaign_copied_without_a_new_id_is_refused(session_factory, clock, both):
    sources = read_sources(EXAMPLE, EXAMPLE_CAMPAIGN)
    name = next(n for n in sources if n.startswith("campaigns/"))
    sources[name] = sources[name].replace("cq-2020-expert-pilot", "cq-2020-senior", 1)
    with session_factory() as session, pytest.raises(CampaignError, match="campaign.id"):
        services.deploy(session, clock, sources)


def test_the_added_stage_climbs_and_lapses_on_the_committee(session_factory, clock, both):
    world = both
    clock.set(at(11, 18))
    with session_factory() as session:
        app_id = services.start_application(
            session, clock, world.users["bob"], world.orgs["unit_b"], "cq-2020-expert-pilot"
        )
        _act(session, clock, world, app_id, "applicant_submit", "bob", DECLARATION)
        clock.set(at(11, 19))
        _act(session, clock, world, app_id, "unit_review", "unit_b_admin", APPROVE)
    clock.set(at(11, 27, 9))
    worker.tick(session_factory, clock)  # the 5-working-day public notice ended at 11-26 24:00
    with session_factory() as session:
        _act(session, clock, world, app_id, "unit_report", "unit_b_admin", APPROVE)
        clock.set(at(11, 27))
        _act(session, clock, world, app_id, "tier2_review", "dept_reviewer", APPROVE)
        view = _act(session, clock, world, app_id, "tier3_review", "hr_reviewer", APPROVE)
        assert (view.stage, view.stage_label, view.waiting_org.id) == (
            "city_recheck",
            "市职改办复核",
            world.orgs["city_office"],
        )
        assert view.chain["city_hr_office"] == world.orgs["city_office"]
        view = _act(session, clock, world, app_id, "city_recheck", "city_office_reviewer", APPROVE)
        assert (view.stage, view.stage_label, view.waiting_org.id) == (
            "committee_precheck",
            "评委会资格初审",
            world.orgs["committee"],
        )
        assert view.deadline == datetime(2020, 12, 16, tzinfo=TZ)  # 12-15 24:00
        items = queries.inbox(session, clock, world.orgs["committee"])
        assert [(i.stage, i.stage_label, i.campaign_id) for i in items] == [
            ("committee_precheck", "评委会资格初审", "cq-2020-expert-pilot")
        ]
        clock.set(at(11, 30))
        view = _act(session, clock, world, app_id, "committee_precheck", "committee_staff", APPROVE)
        assert view.stage == "committee_review"
    clock.set(at(12, 18, 9))
    worker.tick(session_factory, clock)
    with session_factory() as session:
        view = queries.application_view(session, app_id, world.users["bob"])
        assert (view.status, view.stage, view.responsible_org.id) == (
            "expired",
            "committee_review",
            world.orgs["committee"],
        )


def test_the_new_tier_acts_through_the_city_office_and_sees_only_its_applications(
    session_factory, clock, both
):
    world = both
    clock.set(at(11, 18))
    with session_factory() as session:
        pilot = services.start_application(
            session, clock, world.users["bob"], world.orgs["unit_b"], "cq-2020-expert-pilot"
        )
        senior = services.start_application(
            session, clock, world.users["alice"], world.orgs["unit_a"], "cq-2020-senior"
        )
        city = world.users["city_office_reviewer"]
        for app_id in (pilot, senior):  # nothing waits on the city office yet: neither is visible
            with pytest.raises(NotFound):
                queries.application_view(session, app_id, city)
        _act(session, clock, world, pilot, "applicant_submit", "bob", DECLARATION)
        clock.set(at(11, 19))
        _act(session, clock, world, pilot, "unit_review", "unit_b_admin", APPROVE)
    clock.set(at(11, 27, 9))
    worker.tick(session_factory, clock)
    with session_factory() as session:
        _act(session, clock, world, pilot, "unit_report", "unit_b_admin", APPROVE)
        _act(session, clock, world, pilot, "tier2_review", "dept_reviewer", APPROVE)
        _act(session, clock, world, pilot, "tier3_review", "hr_reviewer", APPROVE)
        items = queries.inbox(session, clock, world.orgs["city_office"])
        assert [(i.application_id, i.stage) for i in items] == [(pilot, "city_recheck")]
        assert queries.application_view(session, pilot, city).stage == "city_recheck"
        with pytest.raises(NotFound):  # the 2020 application has no city tier: never the office's
            queries.application_view(session, senior, city)
        with pytest.raises(NotFound):  # a reviewer of the chain below may not act for the city office
            _act(session, clock, world, pilot, "city_recheck", "committee_staff", APPROVE)
        view = _act(session, clock, world, pilot, "city_recheck", "city_office_reviewer", APPROVE)
        assert view.stage == "committee_precheck"
        # once acted on, the office still sees it (its 已办); the facts recorded at start still match
        assert queries.application_view(session, pilot, city).stage == "committee_precheck"
        result = Verifier(session).application(pilot)
        assert result.problems == []
        # the office recorded for the new tier cannot be changed behind the history's back
        session.execute(
            update(ApplicationOrg)
            .where(ApplicationOrg.application_id == pilot)
            .values(org_id=world.orgs["committee"])
        )
        problems = Verifier(session).application(pilot).problems
        assert [p.kind for p in problems] == ["facts"] and "其他层级办理机构" in problems[0].message


def test_a_new_tier_without_its_org_is_refused_naming_the_lane(session_factory, clock, world):
    with (
        session_factory() as session,
        pytest.raises(ConfigError, match="泳道“市职称改革办公室”由市职称改革办公室"),
    ):
        services.deploy(session, clock, read_sources(EXAMPLE, EXAMPLE_CAMPAIGN))
    with session_factory() as session:
        _city_office(session, clock, world)
        services.deploy(session, clock, read_sources(EXAMPLE, EXAMPLE_CAMPAIGN))
        session.get(Org, world.orgs["city_office"]).status = "pending"  # later switched off
        session.commit()
    clock.set(at(11, 18))
    with session_factory() as session, pytest.raises(ChainIncomplete, match="“市职称改革办公室”环节.*没有"):
        services.start_application(
            session, clock, world.users["bob"], world.orgs["unit_b"], "cq-2020-expert-pilot"
        )
    with session_factory() as session:
        _city_office(session, clock, world, "office_2")
        _city_office(session, clock, world, "office_3")
    with session_factory() as session, pytest.raises(ChainIncomplete, match="有多个"):
        services.start_application(
            session, clock, world.users["bob"], world.orgs["unit_b"], "cq-2020-expert-pilot"
        )
