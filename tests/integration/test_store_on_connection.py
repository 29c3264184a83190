"""The store's hot path on a Core `Connection` (timer worker, simulate, benchmarks) behaves exactly as on a
Session: actions commit, refusals explain themselves and write nothing, incidents are recorded, and the
timer sweep records failures. A Connection that only ever ran prepared statements must still commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from test_store import APPROVE, DECLARATION, _actor, at  # the store tests' helpers (same folder)

from engine.audit.verify import verify_application
from engine.errors import FormInvalid, HandledByOther, NotFound
from engine.store import live, services, worker
from engine.store.live import StateIncident
from engine.store.tables import ApplicationRow, HistoryEvent, Incident, WorkflowState, WorkItem
from engine.store.uow import connections
from tests.snapshots import snapshot_now


def _start_and_submit(db_engine, session_factory, clock, world) -> int:
    with session_factory() as session:
        applicant = _actor(session, world, "alice")
    with db_engine.connect() as conn:
        app_id = services.start_application(conn, clock, world.users["alice"], world.orgs["unit_a"])
    clock.set(at(11, 20))
    with db_engine.connect() as conn:  # only prepared statements run on this one: it must still commit
        services.perform_task(conn, clock, app_id, "applicant_submit", applicant, DECLARATION)
    return app_id


def test_actions_on_a_connection_commit(db_engine, session_factory, clock, world):
    app_id = _start_and_submit(db_engine, session_factory, clock, world)
    live.CACHE.clear()  # what is read next comes from the database, not from this process's memory
    with session_factory() as session:
        row = session.get(ApplicationRow, app_id)
        assert (row.status, row.stage, row.version) == ("submitted", "unit_review", 2)
        assert (
            session.scalar(select(WorkItem.stage).where(WorkItem.application_id == app_id)) == "unit_review"
        )
        assert verify_application(session, app_id).ok


def test_refusals_on_a_connection_explain_and_write_nothing(db_engine, session_factory, clock, world):
    app_id = _start_and_submit(db_engine, session_factory, clock, world)
    with session_factory() as session:
        unit, stranger = (_actor(session, world, n) for n in ("unit_a_admin", "unit_b_admin"))
    clock.set(at(11, 25))
    with db_engine.connect() as conn:
        with pytest.raises(FormInvalid):
            services.perform_task(conn, clock, app_id, "unit_review", unit, {"decision": "approve"})
        with pytest.raises(NotFound):  # another unit's staff: the application does not exist for them
            services.perform_task(conn, clock, app_id, "unit_review", stranger, APPROVE)
        services.perform_task(conn, clock, app_id, "unit_review", unit, APPROVE)
        with pytest.raises(HandledByOther):  # a double submit is told who did it and when
            services.perform_task(conn, clock, app_id, "unit_review", unit, APPROVE)
        with pytest.raises(NotFound):
            services.perform_task(conn, clock, 999_999, "unit_review", unit, APPROVE)
    with session_factory() as session:
        assert session.get(ApplicationRow, app_id).version == 3  # start, submit, one review: nothing more
        completed = select(func.count(HistoryEvent.id)).where(
            HistoryEvent.application_id == app_id, HistoryEvent.event_type == "completed"
        )
        assert session.scalar(completed) == 2
        assert verify_application(session, app_id).ok


def test_a_state_incident_on_a_connection_is_recorded(db_engine, session_factory, clock, world):
    app_id = _start_and_submit(db_engine, session_factory, clock, world)
    with session_factory() as session:
        unit = _actor(session, world, "unit_a_admin")
        snapshot_now(session, app_id, clock)
        session.execute(update(WorkflowState).where(WorkflowState.application_id == app_id).values(seq=99))
        session.commit()
    live.CACHE.clear()
    clock.set(at(11, 25))
    with db_engine.connect() as conn, pytest.raises(StateIncident):
        services.perform_task(conn, clock, app_id, "unit_review", unit, APPROVE)
    with session_factory() as session:
        assert session.scalar(select(func.count(Incident.id)).where(Incident.application_id == app_id)) == 1
        assert session.get(ApplicationRow, app_id).stage == "unit_review"


def test_the_sweep_runs_on_connections_of_the_session_factorys_engine(session_factory, db_engine):
    assert connections(session_factory) == db_engine.connect
    unbound = type("Factory", (), {"kw": {}})()  # Flask-SQLAlchemy binds per request: sessions are kept
    assert connections(unbound) is unbound
    with connections(session_factory)() as conn:
        assert worker.due_applications(conn, at(12, 31), 10) == []
