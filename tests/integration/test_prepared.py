"""engine.statements.Prepared, the hot path's statements on the DBAPI cursor: the same values SQLAlchemy's Core would
write and read (aware UTC datetimes), SQLAlchemy's errors, row counts; and the row update that SETs only
the summary columns that changed still leaves the row equal to what the workflow says."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from test_store import APPROVE, _actor, _submitted, at  # the store tests' helpers (same folder)

from engine.audit.verify import verify_application
from engine.store import live, services, worker
from engine.store.tables import ApplicationRow, DueTimer
from engine.store.uow import Prepared

TIMERS = DueTimer.__table__
_INSERT = Prepared(insert(TIMERS), ("application_id", "name", "due_at", "attempts", "next_attempt_at"))
_READ = Prepared(
    select(TIMERS.c.name, TIMERS.c.due_at, TIMERS.c.next_attempt_at)
    .where(TIMERS.c.application_id == bindparam("app_id"))
    .order_by(TIMERS.c.name)
)
_MOVE = Prepared(
    update(TIMERS).where(TIMERS.c.application_id == bindparam("app_id")).values(attempts=bindparam("n"))
)


def test_prepared_writes_and_reads_what_core_does(session_factory, clock, world):
    with session_factory() as session:
        app_id = services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        due = at(12, 1, 17)  # Asia/Shanghai: stored as naive UTC, read back aware
        _INSERT.rowcount(
            session,
            [
                {
                    "application_id": app_id,
                    "name": f"t{i}",
                    "due_at": due,
                    "attempts": 0,
                    "next_attempt_at": None,
                }
                for i in range(2)
            ],
        )
        rows = _READ.all(session, {"app_id": app_id})
        core = session.execute(
            select(TIMERS.c.name, TIMERS.c.due_at).where(
                TIMERS.c.application_id == app_id, TIMERS.c.name.like("t%")
            )
        ).all()
        assert [(r.name, r.due_at, r.next_attempt_at) for r in rows if r.name.startswith("t")] == [
            ("t0", due, None),
            ("t1", due, None),
        ]
        assert [tuple(r) for r in core] == [(r.name, r.due_at) for r in rows if r.name.startswith("t")]
        mine = [r for r in rows if r.name.startswith("t")]
        assert mine[0].due_at.tzinfo is not None and mine[0].due_at.astimezone(UTC) == due.astimezone(UTC)
        assert _MOVE.rowcount(session, {"app_id": app_id, "n": 3}) == len(rows)
        assert _MOVE.rowcount(session, {"app_id": -1, "n": 3}) == 0
        session.rollback()


def test_prepared_raises_sqlalchemys_integrity_error(session_factory, clock, world):
    with session_factory() as session:
        app_id = services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
        row = {"application_id": app_id, "name": "x", "due_at": None, "attempts": 0, "next_attempt_at": None}
        with pytest.raises(IntegrityError):  # due_at is NOT NULL
            _INSERT.rowcount(session, row)
        session.rollback()


def test_only_changed_summary_columns_are_set_and_the_row_still_agrees(session_factory, clock, world):
    with session_factory() as session:
        app_id = _submitted(session, clock, world)
    clock.set(at(11, 25))
    with session_factory() as session:
        services.complete_task(
            session, clock, app_id, "unit_review", _actor(session, world, "unit_a_admin"), APPROVE
        )
        row = session.get(ApplicationRow, app_id)
        assert (row.status, row.stage) == ("public_notice", "public_notice")
        assert row.series is not None  # written at submission, not SET again since
        assert verify_application(session, app_id).ok  # status, stage, org, deadline as the replay says
    live.CACHE.clear()  # a rebuilt entry knows nothing of the row: it writes every summary column
    clock.set(at(12, 4))
    assert worker.tick(session_factory, clock).fired  # the notice ends (the sweep rebuilds the workflow)
    live.CACHE.clear()
    with session_factory() as session:
        services.complete_task(
            session, clock, app_id, "unit_report", _actor(session, world, "unit_a_admin"), APPROVE
        )
        assert verify_application(session, app_id).ok
