"""The live-workflow cache over the history: a stale entry is never used, a snapshot that disagrees with the
history is an incident (refused, recorded, nothing changed), and a cold cache rebuilds the same state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from test_store import APPROVE, _actor, _submitted, at  # the store tests' helpers (same folder)

from engine.audit.verify import verify_application
from engine.store import live, services
from engine.store.live import StateIncident
from engine.store.tables import ApplicationRow, HistoryEvent, Incident, WorkflowState


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


def test_a_cold_cache_rebuilds_from_snapshot_and_later_events(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
        clock.set(at(11, 25))
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
        snapshot_seq = session.scalar(select(WorkflowState.seq).where(WorkflowState.application_id == app_id))
        head = session.scalar(select(ApplicationRow.head_seq).where(ApplicationRow.id == app_id))
    assert snapshot_seq < head  # the last actions live only in the history
    live.CACHE.clear()
    with session_factory() as session:
        row, app = services.load(session, app_id, clock)
        assert (app.status().status, app.status().stage) == (row.status, row.stage)
        assert verify_application(session, app_id).ok
