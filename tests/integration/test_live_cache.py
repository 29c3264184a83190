"""The live-workflow cache over the history: a stale entry is never used, a snapshot that disagrees with the
history is an incident (refused, recorded, nothing changed), and a cold cache rebuilds the same state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from test_store import APPROVE, _actor, _submitted, at  # the store tests' helpers (same folder)

from engine.audit.verify import verify_application
from engine.store import live, services, worker
from engine.store.live import StateIncident
from engine.store.tables import ApplicationRow, HistoryEvent, Incident, WorkflowState
from tests.snapshots import snapshot_now, stored_state


def test_a_stale_cache_entry_is_never_used(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        row = services.action_row(session, app_id)
    stale = live.CACHE.take(app_id, row.version, row.head_hash)
    assert stale is not None  # the submission left the workflow cached
    clock.set(at(11, 25))
    with session_factory() as session:  # "another process" acts: it rebuilds and moves the head
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
    live.CACHE.put(app_id, stale)  # the old entry comes back, as if this process had kept it
    with session_factory() as session:
        row = services.action_row(session, app_id)
        assert live.CACHE.take(app_id, row.version, row.head_hash) is None  # dropped, not used
        assert row.stage == "public_notice" or row.status == "public_notice"
        assert verify_application(session, app_id).ok


def test_snapshot_ahead_of_the_history_is_an_incident_and_changes_nothing(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        snapshot_now(session, app_id, clock)
        session.execute(update(WorkflowState).where(WorkflowState.application_id == app_id).values(seq=99))
        session.commit()
        events = session.scalar(
            select(func.count(HistoryEvent.id)).where(HistoryEvent.application_id == app_id)
        )
    live.CACHE.clear()  # a process that has not seen this application
    clock.set(at(11, 25))
    with session_factory() as session, pytest.raises(StateIncident, match="需要核查"):
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
    with session_factory() as session:
        assert session.scalar(select(func.count(Incident.id)).where(Incident.application_id == app_id)) == 1
        assert session.get(ApplicationRow, app_id).stage == "unit_review"
        after = session.scalar(
            select(func.count(HistoryEvent.id)).where(HistoryEvent.application_id == app_id)
        )
        assert after == events


@pytest.mark.parametrize("snapshot", [True, False], ids=["from-snapshot", "from-started-event"])
def test_a_cold_cache_rebuilds_from_snapshot_and_later_events(session_factory, clock, world, snapshot):
    """A young application has no snapshot: its started event rebuilds the initial state (as verify's replay
    does); an older one rebuilds from its snapshot. Either way the later events are replayed on top."""
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        if snapshot:
            snapshot_now(session, app_id, clock)
        clock.set(at(11, 25))
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
        snapshot_seq = session.scalar(select(WorkflowState.seq).where(WorkflowState.application_id == app_id))
        head = session.scalar(select(ApplicationRow.head_seq).where(ApplicationRow.id == app_id))
    assert (snapshot_seq is not None) == snapshot
    assert (snapshot_seq or 0) < head  # the last actions live only in the history
    live.CACHE.clear()
    with session_factory() as session:
        row, app = services.load(session, app_id, clock)
        assert (app.status().status, app.status().stage) == (row.status, row.stage)
        assert verify_application(session, app_id).ok
    clock.set(at(12, 4, 9))  # the rebuilt workflow carries on: the notice ends, the unit reports
    worker.tick(session_factory, clock)
    with session_factory() as session:
        services.complete_task(
            session, clock, app_id, "unit_report", _actor(session, world, "unit_a_admin"), APPROVE
        )
        assert session.get(ApplicationRow, app_id).stage == "tier2_review"
        assert verify_application(session, app_id).ok


def test_snapshot_writes_insert_the_first_and_never_go_back(session_factory, clock, world):
    """The first snapshot of an application is an insert; later ones only move forward (an older one,
    from a process that is behind, leaves a newer one alone), and neither fails the writer's transaction."""
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        assert stored_state(session, app_id) is None  # two events: younger than a snapshot interval
        row = services.action_row(session, app_id)
        current = live.rebuild(session, row, services.deployment_for(session, row.deployment_id), clock)
        live.write_snapshot(session, app_id, current)
        session.commit()
        state, seq = session.execute(
            select(WorkflowState.state_json, WorkflowState.seq).where(WorkflowState.application_id == app_id)
        ).one()
        assert seq == row.head_seq == current.snapshot_seq
        behind = live.Live(current.app, 1, 1, "x" * 64, 0, None)
        live.write_snapshot(session, app_id, behind, state="{}")
        session.commit()
        assert stored_state(session, app_id) == state
