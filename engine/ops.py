"""Operations facts read from the database: worker heartbeats, health checks and the gauges of /metrics.

Two times are involved. `now` is the engine clock (simulated in the sandbox): a timer is overdue when its
due time is before it. `wall_now` is real time (SystemClock): a worker's heartbeat age is real seconds,
whatever the engine clock says.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from .paths import migrations_dir
from .reminders.delivery import outbox_depth
from .store.tables import ApplicationRow, DueTimer, Incident, WorkerHeartbeat

STALE_HEARTBEAT = timedelta(days=1)  # rows of workers gone this long are dropped


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(session_factory, wall_now: datetime, fired: int = 0, name: str | None = None) -> None:
    """Record that this worker swept at `wall_now` (and fired `fired` more timers)."""
    name = name or worker_name()
    with session_factory() as session, session.begin():
        row = session.get(WorkerHeartbeat, name)
        if row is None:
            session.add(WorkerHeartbeat(name=name, seen_at=wall_now, fired_total=fired))
        else:
            row.seen_at = wall_now
            row.fired_total += fired
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < wall_now - STALE_HEARTBEAT))


def migration_heads() -> set[str]:
    """The head revisions of the shipped migrations."""
    return set(ScriptDirectory(str(migrations_dir())).get_heads())


@dataclass
class Health:
    ok: bool
    checks: dict = field(default_factory=dict)


def health(
    session: Session,
    now: datetime,
    wall_now: datetime,
    *,
    heads: set[str],
    max_heartbeat_age: float,
    max_timer_lag: float,
) -> Health:
    """Database reachable, schema at the migrations' head, a worker alive, no timer overdue too long."""
    checks: dict = {}
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is the answer
        session.rollback()
        return Health(False, {"database": {"ok": False, "error": type(exc).__name__}})
    checks["database"] = {"ok": True}
    current = set(MigrationContext.configure(session.connection()).get_current_heads())
    checks["migrations"] = {"ok": current == heads, "current": sorted(current), "head": sorted(heads)}
    if not checks["migrations"]["ok"]:
        return Health(False, checks)  # the tables below may not exist yet
    seen = session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    age = (wall_now - seen).total_seconds() if seen else None
    checks["worker"] = {
        "ok": age is not None and age <= max_heartbeat_age,
        "heartbeat_age_seconds": None if age is None else round(age, 1),
        "max_age_seconds": max_heartbeat_age,
    }
    oldest = session.scalar(select(func.min(DueTimer.due_at)).where(DueTimer.due_at <= now))
    lag = (now - oldest).total_seconds() if oldest else 0.0
    checks["timers"] = {
        "ok": lag <= max_timer_lag,
        "oldest_overdue_seconds": round(lag, 1),
        "oldest_overdue_due_at": oldest.isoformat() if oldest else None,
        "max_lag_seconds": max_timer_lag,
    }
    return Health(all(c["ok"] for c in checks.values()), checks)


@dataclass
class Gauges:
    applications_by_status: dict[str, int]
    timers_waiting: int
    timers_overdue: int
    oldest_overdue_seconds: float
    incidents_open: int
    heartbeat_age_seconds: float | None
    workers_fired_total: int
    outbox_pending: dict[str, int]


def gauges(session: Session, now: datetime, wall_now: datetime) -> Gauges:
    """State-derived figures, the same whichever web process answers the scrape."""
    by_status = dict(
        session.execute(select(ApplicationRow.status, func.count()).group_by(ApplicationRow.status)).all()
    )
    waiting = session.scalar(select(func.count()).select_from(DueTimer)) or 0
    overdue, oldest = session.execute(
        select(func.count(), func.min(DueTimer.due_at)).where(DueTimer.due_at <= now)
    ).one()
    incidents = session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved.is_(False)))
    seen, fired = session.execute(
        select(func.max(WorkerHeartbeat.seen_at), func.sum(WorkerHeartbeat.fired_total))
    ).one()
    return Gauges(
        applications_by_status=by_status,
        timers_waiting=waiting,
        timers_overdue=overdue or 0,
        oldest_overdue_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        incidents_open=incidents or 0,
        heartbeat_age_seconds=(wall_now - seen).total_seconds() if seen else None,
        workers_fired_total=int(fired or 0),
        outbox_pending=outbox_depth(session),
    )
