"""Stored workflow snapshots in tests. The store writes one every SNAPSHOT_EVERY events (none at start: the
started event rebuilds the initial state), so a young application has none; tests that tamper with a
snapshot first make one, as the store would after enough events."""

from __future__ import annotations

from sqlalchemy import select

from engine.store import services
from engine.store.indexes import write_state
from engine.store.tables import WorkflowState


def stored_state(session, app_id: int) -> str | None:
    """The application's stored snapshot, or None when it has none yet."""
    return session.scalar(select(WorkflowState.state_json).where(WorkflowState.application_id == app_id))


def snapshot_now(session, app_id: int, clock) -> str:
    """Store the application's current workflow (snapshot + later events, rebuilt) as its snapshot at its
    last event and commit; returns the stored JSON."""
    _, app = services.load(session, app_id, clock)
    write_state(session, app_id, app)
    session.commit()
    return stored_state(session, app_id)
