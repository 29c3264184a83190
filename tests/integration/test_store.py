"""The persisted engine: round trip, one unit of work per action, optimistic locking, scope checks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from calendars import TZ
from engine.errors import AlreadyHandled, FormInvalid, NotFound, NoticeRunning, NotPermitted
from engine.store import indexes, queries, services, worker
from engine.store.tables import (
    ApplicationRow,
    DueTimer,
    HistoryEvent,
    SandboxClockRow,
    WorkflowState,
    WorkItem,
)
from engine.store.uow import UnitOfWork
from tests.snapshots import stored_state

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


def _actor(session, world, name):
    return queries.actor_for(session, world.users[name])


def _submitted(session, clock, world, applicant="alice", unit="unit_a") -> int:
    app_id = services.start_application(session, clock, world.users[applicant], world.orgs[unit])
    clock.set(at(11, 20))
    services.complete_task(
        session, clock, app_id, "applicant_submit", _actor(session, world, applicant), DECLARATION
    )
    return app_id


def _counts(session) -> dict:
    return {
        t.__tablename__: session.scalar(select(func.count()).select_from(t))
        for t in (ApplicationRow, WorkflowState, WorkItem, DueTimer, HistoryEvent)
    }


def test_round_trip_start_complete_tick(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        view = queries.application_view(session, app_id, world.users["alice"])
        assert (view.status, view.stage, view.waiting_org.id) == (
            "submitted",
            "unit_review",
            world.orgs["unit_a"],
        )
        assert view.waiting_org.contact_phone == "023-12345678"
        assert view.declaration["title_sought"] == "正高级工程师"
        clock.set(at(11, 26, 16))
        view = services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
        assert view.status == "public_notice" and view.ready == []
        assert queries.inbox_counts(session, clock, world.orgs["unit_a"])["all"] == 0
    clock.set(at(12, 4, 9))
    report = worker.tick(session_factory, clock)
    assert [(a, name) for a, name, _ in report.fired] == [(app_id, "public_notice")]
    with session_factory() as session:
        items = queries.inbox(session, clock, world.orgs["unit_a"], view="actionable")
        assert [(i.application_id, i.stage, i.series) for i in items] == [
            (app_id, "unit_report", "senior_engineer_full")
        ]
        view = queries.application_view(session, app_id, world.users["unit_a_admin"])
        assert [e.event_type for e in view.timeline] == ["started", "completed", "completed", "timer_fired"]
        assert view.reviews[0]["opinion"] == APPROVE["opinion"]
    assert worker.tick(session_factory, clock).fired == []  # nothing fires twice


def test_inbox_views_not_open_due_soon_and_lapsed(session_factory, clock, world):
    with session_factory() as session:
        bob = services.start_application(
            session, clock, world.users["bob"], world.orgs["unit_b"]
        )  # never submitted
        a = _submitted(session, clock, world)
        clock.set(at(11, 24))
        counts = queries.inbox_counts(session, clock, world.orgs["unit_a"])
        assert counts["actionable"] == 1 and counts["due_soon"] == 1 and counts["not_open"] == 0
    clock.set(at(11, 24, 12))
    with session_factory() as session:
        assert queries.inbox(session, clock, world.orgs["unit_a"], view="due_soon")[0].application_id == a
    clock.set(at(11, 27))
    worker.tick(session_factory, clock)
    with session_factory() as session:
        lapsed = queries.inbox(session, clock, world.orgs["unit_a"], view="lapsed")
        assert [i.application_id for i in lapsed] == [a]
        assert queries.application_view(session, bob, world.users["bob"]).status == "expired"
        assert queries.inbox_counts(session, clock, world.orgs["unit_a"])["lapsed"] == 1


def test_unit_of_work_commits_only_when_told(session_factory, clock):
    with session_factory() as session, UnitOfWork(session) as uow:
        session.add(SandboxClockRow(id=1, now=clock.now()))
        session.flush()
        assert not uow.committed
    with session_factory() as session:
        assert session.get(SandboxClockRow, 1) is None  # left without commit(): rolled back
    with session_factory() as session, UnitOfWork(session) as uow:
        session.add(SandboxClockRow(id=1, now=clock.now()))
        uow.commit()
    with session_factory() as session:
        assert session.get(SandboxClockRow, 1).now == clock.now()


def test_unit_of_work_rolls_back_on_error(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        with pytest.raises(RuntimeError), UnitOfWork(session) as uow:
            session.get(ApplicationRow, app_id).stage = "bogus"
            session.flush()
            raise RuntimeError("boom")
        assert not uow.committed
    with session_factory() as session:
        assert session.get(ApplicationRow, app_id).stage == "unit_review"


def test_failure_after_state_write_leaves_nothing(session_factory, clock, world, monkeypatch):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        before = _counts(session)
        state = stored_state(session, app_id)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "save_action", broken)
    clock.set(at(11, 25))
    with session_factory() as session, pytest.raises(RuntimeError):
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
    with session_factory() as session:
        assert _counts(session) == before
        row = session.get(ApplicationRow, app_id)
        assert (row.version, row.stage) == (2, "unit_review")
        assert stored_state(session, app_id) == state


def test_two_sessions_complete_the_same_task_one_wins(session_factory, clock, world, monkeypatch):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
    clock.set(at(11, 25))
    real = indexes.save_action
    first = {"done": False}

    def race(session, *args, **kwargs):
        if not first["done"]:  # the other reviewer commits between our load and our write
            first["done"] = True
            with session_factory() as other:
                services.complete_task(
                    other,
                    clock,
                    app_id,
                    "unit_review",
                    queries.actor_for(other, world.users["unit_a_admin"]),
                    APPROVE,
                )
        return real(session, *args, **kwargs)

    monkeypatch.setattr(services, "save_action", race)
    with session_factory() as session, pytest.raises(AlreadyHandled, match="已被他人处理"):
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
    monkeypatch.setattr(services, "save_action", real)
    with session_factory() as session:
        completed = session.scalar(
            select(func.count()).where(
                HistoryEvent.application_id == app_id, HistoryEvent.stage == "unit_review"
            )
        )
        assert completed == 1
        # a stale report form during the notice: the refusal names the notice and its end, not the version
        with pytest.raises(NoticeRunning, match="公示期至 12月2日，12月3日起可上报"):
            services.complete_task(
                session,
                clock,
                app_id,
                "unit_report",
                _actor(session, world, "unit_a_admin"),
                APPROVE,
                expected_version=2,
            )


def test_scope_checks_never_leak_existence(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        for outsider in ("bob", "unit_b_admin", "dept_reviewer", "city_reviewer"):
            with pytest.raises(NotFound):
                queries.application_view(session, app_id, world.users[outsider])
        for insider in ("alice", "unit_a_admin", "operator", "auditor"):
            assert queries.application_view(session, app_id, world.users[insider]).id == app_id
        with pytest.raises(NotFound):
            queries.application_view(session, 424242, world.users["operator"])
        clock.set(at(11, 25))
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
    clock.set(at(12, 4, 9))
    worker.tick(session_factory, clock)
    with session_factory() as session:
        services.complete_task(
            session, clock, app_id, "unit_report", _actor(session, world, "unit_a_admin"), APPROVE
        )
        assert queries.application_view(session, app_id, world.users["dept_reviewer"]).stage == "tier2_review"
        clock.set(at(12, 8))
        services.complete_task(
            session, clock, app_id, "tier2_review", _actor(session, world, "dept_reviewer"), APPROVE
        )
        # acted on it earlier: still visible once it moved up; the other unit still is not
        assert queries.application_view(session, app_id, world.users["dept_reviewer"]).stage == "tier3_review"
        with pytest.raises(NotFound):
            queries.application_view(session, app_id, world.users["unit_b_admin"])


def test_refusal_writes_nothing_and_applications_stay_pinned(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        before = _counts(session)
        clock.set(at(11, 26, 12))
        with pytest.raises(NotPermitted):
            services.complete_task(
                session, clock, app_id, "unit_review", _actor(session, world, "alice"), APPROVE
            )
        with pytest.raises(NotFound):  # outside the actor's scope: not even told it exists
            services.complete_task(
                session, clock, app_id, "unit_review", _actor(session, world, "unit_b_admin"), APPROVE
            )
        assert _counts(session) == before
        pinned = session.get(ApplicationRow, app_id).deployment_id
        assert services.current_deployment(session).id == pinned


@pytest.mark.parametrize(
    "extra", [{"has_tier2": False}, {"return_stage": "committee_review"}, {"notice_done": True}]
)
def test_form_data_cannot_set_a_process_variable(session_factory, clock, world, extra):
    """The engine service refuses a field the task's form does not declare, naming it, and writes nothing."""
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        before = _counts(session)
        state = stored_state(session, app_id)
        clock.set(at(11, 26, 12))
        with pytest.raises(FormInvalid) as info:
            services.complete_task(
                session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE | extra
            )
        (name,) = extra
        assert info.value.errors == {name: f"{name}：表单中没有此项，不能提交（流程变量只能由系统设置）"}
        assert _counts(session) == before
        assert stored_state(session, app_id) == state
        view = queries.application_view(session, app_id, world.users["alice"])
        assert (view.status, view.stage) == ("submitted", "unit_review")
