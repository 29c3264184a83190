"""Store rules held by the service and the database: the start window, one open application per campaign
(also under a race), attachment records, the unit's 公示中 list and the deployments list."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, update

from calendars import TZ
from engine.clock import FixedClock
from engine.deployment import read_sources
from engine.errors import ActionRefused, CampaignError, OutsideWindow
from engine.store import queries, services, worker
from engine.store.tables import ApplicationRow, Attachment, HistoryEvent

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


SHA = "ab" * 32


@pytest.mark.parametrize("when", [at(11, 16, 23), at(11, 24, 0)])
def test_start_outside_the_applicant_window_is_refused_naming_it(session_factory, world, when):
    clock = FixedClock(when)
    with session_factory() as session:
        with pytest.raises(OutsideWindow, match="「申报人填报」时间为 2020年11月17日至11月23日") as exc:
            services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        assert exc.value.context["stage"] == "applicant_submit"
        assert session.scalar(select(func.count(ApplicationRow.id))) == 0


def test_window_bounds_are_inclusive_of_the_whole_days(session_factory, world):
    with session_factory() as session:
        services.start_application(
            session, FixedClock(at(11, 17, 0)), world.users["alice"], world.orgs["unit_a"]
        )
        services.start_application(
            session, FixedClock(at(11, 23, 23)), world.users["bob"], world.orgs["unit_a"]
        )


def test_second_open_application_in_a_campaign_is_refused(session_factory, clock, world):
    with session_factory() as session:
        first = services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        with pytest.raises(ActionRefused, match=f"已有一份未办结的申请书（编号 {first}）"):
            services.start_application(session, clock, world.users["alice"], world.orgs["unit_b"])
        # once it has ended, the index no longer covers it: a new one may start
        session.execute(update(ApplicationRow).where(ApplicationRow.id == first).values(status="expired"))
        session.commit()
        second = services.start_application(session, clock, world.users["alice"], world.orgs["unit_b"])
        assert second != first


def test_two_sessions_racing_past_the_check_one_start_wins(session_factory, clock, world, monkeypatch):
    """The other request commits between our SELECT and our INSERT: the partial unique index refuses ours."""
    real = services.review_chain
    raced = {}

    def race(session, unit_id):
        if not raced:
            raced["id"] = None
            with session_factory() as other:
                raced["id"] = services.start_application(
                    other, clock, world.users["alice"], world.orgs["unit_a"]
                )
        return real(session, unit_id)

    monkeypatch.setattr(services, "review_chain", race)
    with session_factory() as session:
        with pytest.raises(ActionRefused, match="不能重复申报") as exc:
            services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        assert exc.value.context["application_id"] == raced["id"]
    with session_factory() as session:
        assert session.scalars(select(ApplicationRow.id)).all() == [raced["id"]]
        assert session.scalar(select(func.count(HistoryEvent.id))) == 1  # nothing half-written


def test_record_attachment_is_idempotent_on_sha256(session_factory, clock, world):
    alice, bob = world.users["alice"], world.users["bob"]
    with session_factory() as one, session_factory() as two:
        assert services.record_attachment(
            one, clock, sha256=SHA, size=123, mime="image/png", original_name="身份证.png", uploaded_by=alice
        )
        clock.set(at(11, 18))
        assert not services.record_attachment(
            two, clock, sha256=SHA, size=123, mime="image/png", original_name="copy.png", uploaded_by=bob
        )
    with session_factory() as session:
        info = queries.attachment(session, SHA)
        assert (info.size, info.mime, info.original_name, info.uploaded_by_id) == (
            123,
            "image/png",
            "身份证.png",
            alice,
        )
        assert info.created_at == at(11, 17, 9)
        assert session.scalar(select(func.count()).select_from(Attachment)) == 1
        assert queries.attachment(session, "cd" * 32) is None


def test_unit_notice_list_counts_down_working_days(session_factory, clock, world):
    alice = world.users["alice"]
    with session_factory() as session:
        app_id = services.start_application(session, clock, alice, world.orgs["unit_a"])
        clock.set(at(11, 18, 9))
        services.complete_task(
            session, clock, app_id, "applicant_submit", queries.actor_for(session, alice), DECLARATION
        )
        services.complete_task(
            session,
            clock,
            app_id,
            "unit_review",
            queries.actor_for(session, world.users["unit_a_admin"]),
            APPROVE,
        )
        (item,) = queries.in_notice(session, clock, world.orgs["unit_a"])
        # approved Wed 11-18: notice on 19, 20, 23, 24, 25; ends 24:00 on 11-25; reporting from 11-26
        assert (item.application_id, item.applicant_name, item.title_sought) == (
            app_id,
            "alice",
            "正高级工程师",
        )
        assert (item.last_day, item.reporting_opens, item.working_days_left) == (
            date(2020, 11, 25),
            date(2020, 11, 26),
            5,
        )
        assert item.notice_ends == at(11, 26, 0)
        clock.set(at(11, 21, 10))  # Saturday
        assert queries.in_notice(session, clock, world.orgs["unit_a"])[0].working_days_left == 3
        clock.set(at(11, 25, 23))
        assert queries.in_notice(session, clock, world.orgs["unit_a"])[0].working_days_left == 0
        assert queries.in_notice(session, clock, world.orgs["unit_b"]) == []
        assert queries.in_notice(session, clock, world.orgs["dept"]) == []
    clock.set(at(11, 26, 9))
    worker.tick(session_factory, clock)
    with session_factory() as session:
        assert queries.in_notice(session, clock, world.orgs["unit_a"]) == []


def test_deployments_list_counts_applications_per_version(session_factory, clock, world, tmp_path):
    with session_factory() as session:
        services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        (first,) = queries.deployments(session)
        assert (first.is_current, first.application_count) == (True, 1)
        sources = read_sources()
        name = next(n for n in sources if n.endswith(".bpmn"))
        sources[name] = sources[name] + "\n<!-- edited -->\n"
        clock.set(at(11, 18))
        with pytest.raises(CampaignError, match="批次编号 'cq-2020-senior' 已被另一份部署"):
            services.deploy(session, clock, sources)  # a copy under the same id never replaces silently
        info = services.deploy(session, clock, sources, replace=True)
        services.start_application(session, clock, world.users["bob"], world.orgs["unit_a"])
        listed = queries.deployments(session)
        assert [(d.id, d.is_current, d.application_count) for d in listed] == [
            (info.id, True, 1),
            (first.id, False, 1),
        ]
        pinned = queries.pinned_applications(session)
        assert [(p.applicant_name, p.status_label, p.deployment_id) for p in pinned] == [
            ("bob", "草稿", info.id),
            ("alice", "草稿", first.id),
        ]
