"""The timer sweep: fire every due timer, one application per transaction, safe with several workers.

On PostgreSQL each application row is claimed with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers
split the work; on SQLite writers are serialized anyway. The version check of every write means a timer can
never fire twice, and a worker killed mid-batch loses nothing: uncommitted work stays due. A failing
application is retried with exponential backoff and parked with an incident after `max_attempts`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.db import connection_of
from engine.errors import AlreadyHandled, ZhichengError

from .indexes import save_action
from .live import CACHE, insert_incident
from .services import acquire_live, action_row, timer_events
from .tables import DueTimer
from .uow import Prepared, UnitOfWork, connections

MAX_ATTEMPTS = 5
BACKOFF = timedelta(seconds=30)


@dataclass
class TickReport:
    fired: list[tuple[int, str, datetime]] = field(default_factory=list)  # (application, timer, due at)
    applications: int = 0
    skipped: int = 0  # claimed by another worker, or changed under us (retried next tick)
    failed: list[tuple[int, str]] = field(default_factory=list)
    incidents: list[int] = field(default_factory=list)


def due_applications(session: Session, now: datetime, batch: int, only=None) -> list[int]:
    """Applications with a timer due at `now`, oldest due first (reads the index only); `only` restricts
    the sweep to some applications (a simulation cohort that runs on its own clock)."""
    return _due(session, now, batch, only)[0]


def _due(session: Session, now: datetime, batch: int, only=None) -> tuple[list[int], bool]:
    """(due_applications, whether the read was cut at its limit: then more may be due)."""
    limit = batch * 3
    if only is None:  # the timer worker's sweep: prepared once (uow.Prepared)
        rows = _DUE_ALL_PREPARED.all(session, {"now": now, "limit": limit})
    else:
        rows = (
            connection_of(session).execute(_DUE_ONLY, {"now": now, "limit": limit, "only": list(only)}).all()
        )
    seen: dict[int, None] = {}
    for app_id, _ in rows:
        seen.setdefault(app_id)
    ids = list(seen)
    return ids[:batch], len(rows) >= limit or len(ids) > batch


_DUE_TABLE = DueTimer.__table__
_DUE_ALL = (
    select(_DUE_TABLE.c.application_id, _DUE_TABLE.c.next_attempt_at)
    .where(_DUE_TABLE.c.next_attempt_at <= bindparam("now"))
    .order_by(_DUE_TABLE.c.next_attempt_at)
    .limit(bindparam("limit"))
)
_DUE_ALL_PREPARED = Prepared(_DUE_ALL)
_DUE_ONLY = _DUE_ALL.where(_DUE_TABLE.c.application_id.in_(bindparam("only", expanding=True)))


def fire_one(session: Session, clock: Clock, app_id: int, report: TickReport) -> None:
    """Fire the due timers of one application in one unit of work (skips it if another worker holds it)."""
    now = clock.now()
    with UnitOfWork(session) as uow:
        row = action_row(session, app_id, lock=True, due_at=now)  # PostgreSQL: FOR UPDATE SKIP LOCKED
        if row is None:
            report.skipped += 1
            return
        if not row.timer_due:  # another worker fired it between our read and our claim
            report.skipped += 1
            return
        live = acquire_live(session, clock, row, now)
        fired = live.app.advance()
        if not fired:
            raise ZhichengError("到期的定时器没有触发（索引与流程状态不一致）", application_id=app_id)
        events = [{**e, "at": now} for e in timer_events(fired, live.app.status())]
        save_action(session, app_id, live, events, now)
        uow.commit()
    CACHE.put(app_id, live)
    report.applications += 1
    report.fired.extend((app_id, t.name, t.due_at) for t in fired)


def _record_failure(
    session: Session,
    now: datetime,
    app_id: int,
    error: str,
    max_attempts: int,
    backoff: timedelta,
    report: TickReport,
) -> None:
    with UnitOfWork(session) as uow:  # Core throughout: `session` may be a Connection (tick)
        timers = session.execute(
            select(_DUE_TABLE.c.id, _DUE_TABLE.c.attempts).where(
                _DUE_TABLE.c.application_id == app_id, _DUE_TABLE.c.next_attempt_at <= now
            )
        ).all()
        attempts = max((t.attempts for t in timers), default=0) + 1
        parked = attempts >= max_attempts
        next_at = None if parked else now + backoff * (2 ** (attempts - 1))
        session.execute(
            update(_DUE_TABLE)
            .where(_DUE_TABLE.c.id.in_([t.id for t in timers]))
            .values(attempts=attempts, next_attempt_at=next_at)
        )
        if parked:
            insert_incident(session, app_id, error, now)
            report.incidents.append(app_id)
        uow.commit()
    report.failed.append((app_id, error))


def tick(
    session_factory,
    clock: Clock,
    batch: int = 500,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: timedelta = BACKOFF,
    limit: int | None = None,
    only=None,
) -> TickReport:
    """Fire every timer due at the clock's now (up to `limit` applications); report what fired.

    One Core connection for the whole sweep, one transaction per application on it (no ORM: a Session's
    transaction bookkeeping cost more than the firing's SQL)."""
    report = TickReport()
    done: set[int] = set()
    with connections(session_factory)() as db:
        while limit is None or len(done) < limit:
            now = clock.now()
            due, more = _due(db, now, batch, only)
            candidates = [a for a in due if a not in done]
            db.rollback()  # end the sweep's read: each firing is its own transaction
            if not candidates:
                break
            for app_id in candidates:
                done.add(app_id)
                try:
                    fire_one(db, clock, app_id, report)
                except AlreadyHandled:
                    report.skipped += 1  # a person acted at the same moment; it is retried next tick
                except Exception as exc:  # noqa: BLE001 - any failure is recorded, never looped on
                    db.rollback()
                    _record_failure(
                        db, now, app_id, f"{type(exc).__name__}: {exc}", max_attempts, backoff, report
                    )
            if not more:  # the read saw every timer due at `now`: no second read to find none
                break
    return report


def run_worker(
    session_factory,
    clock: Clock,
    *,
    interval: float = 5.0,
    once: bool = False,
    batch: int = 100,
    on_report=None,
    should_stop=lambda: False,
    after_tick=None,
) -> None:
    """Tick forever (or once), sleeping `interval` seconds when nothing was due.

    `after_tick(session_factory, clock)` runs after every tick on the same clock: deadline reminders
    (engine.reminders.service.remind) and signed audit checkpoints (engine.audit.checkpoints, at most
    hourly while events are new) ride on the timer worker this way.
    """
    while not should_stop():
        report = tick(session_factory, clock, batch)
        if on_report is not None:
            on_report(report)
        if after_tick is not None:
            after_tick(session_factory, clock)
        if once:
            return
        if not report.fired and not report.failed:
            time.sleep(interval)
