"""Timer sweeps: backoff and incidents, exactly-once with several workers, SIGKILL mid-batch loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from calendars import TZ
from engine.clock import FixedClock
from engine.runtime import Application
from engine.store import history, services, worker
from engine.store.sandbox import DbSandboxClock
from engine.store.tables import DueTimer, HistoryEvent, Incident

LAPSE = datetime(2020, 11, 24, 9, tzinfo=TZ)  # after the applicant_submit deadline (11-23 24:00)


def _drafts(session_factory, clock, world, n: int) -> list[int]:
    """n draft applications (extra applicants in unit_a), each with one deadline timer due at LAPSE."""
    from engine.accounts.models import User

    ids = []
    with session_factory() as session:
        for i in range(n):
            user = User(username=f"w{i}", real_name=f"申报人{i}", password_hash="!", created_at=clock.now())
            session.add(user)
            session.commit()
            ids.append(services.start_application(session, clock, user.id, world.orgs["unit_a"]))
    return ids


def _fired_per_app(session_factory, ids) -> dict[int, int]:
    with session_factory() as session:
        rows = session.execute(
            select(HistoryEvent.application_id, func.count())
            .where(HistoryEvent.event_type == "timer_fired", HistoryEvent.application_id.in_(ids))
            .group_by(HistoryEvent.application_id)
        ).all()
    return {app: count for app, count in rows}


def test_failing_timer_backs_off_then_becomes_an_incident(session_factory, clock, world, monkeypatch):
    (app_id,) = _drafts(session_factory, clock, world, 1)

    def broken(self):
        raise RuntimeError("script engine exploded")

    monkeypatch.setattr(Application, "advance", broken)
    now = LAPSE
    for attempt in range(1, 4):
        report = worker.tick(session_factory, FixedClock(now), max_attempts=3, backoff=timedelta(minutes=1))
        assert [a for a, _ in report.failed] == [app_id]
        with session_factory() as session:
            timer = session.scalar(select(DueTimer).where(DueTimer.application_id == app_id))
        assert timer.attempts == attempt
        if attempt < 3:
            assert timer.next_attempt_at == now + timedelta(minutes=2 ** (attempt - 1))
            assert worker.tick(session_factory, FixedClock(now)).failed == []  # not before its backoff
            now = timer.next_attempt_at
    assert report.incidents == [app_id] and timer.next_attempt_at is None
    with session_factory() as session:
        assert session.scalar(select(func.count(Incident.id)).where(Incident.application_id == app_id)) == 1
    assert worker.tick(session_factory, FixedClock(now + timedelta(days=1))).failed == []  # parked, no loop


def test_tick_fires_each_due_timer_once(session_factory, clock, world):
    ids = _drafts(session_factory, clock, world, 5)
    assert worker.tick(session_factory, FixedClock(LAPSE - timedelta(days=2))).fired == []
    report = worker.tick(session_factory, FixedClock(LAPSE), batch=2)
    assert sorted(a for a, _, _ in report.fired) == ids
    assert worker.tick(session_factory, FixedClock(LAPSE)).fired == []
    assert _fired_per_app(session_factory, ids) == dict.fromkeys(ids, 1)


@pytest.mark.postgres
def test_several_workers_fire_every_timer_exactly_once(session_factory, clock, world, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent workers need PostgreSQL (SQLite serializes writers)")
    ids = _drafts(session_factory, clock, world, 40)
    reports = []
    threads = [
        threading.Thread(
            target=lambda: reports.append(worker.tick(session_factory, FixedClock(LAPSE), batch=5))
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.fired) for r in reports) == 40
    assert _fired_per_app(session_factory, ids) == dict.fromkeys(ids, 1)


WORKER = (
    "from flask.cli import FlaskGroup; from webapp import create_app; "
    "from webapp.cli.store import STORE_COMMANDS; g = FlaskGroup(create_app=create_app); "
    "[g.add_command(c) for c in STORE_COMMANDS]; g.main(['worker', '--interval', '0.05', '--batch', '3'])"
)


@pytest.mark.postgres
def test_worker_killed_mid_batch_loses_nothing(session_factory, clock, world, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL")
    ids = _drafts(session_factory, clock, world, 60)
    DbSandboxClock(session_factory).set(LAPSE)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ZHICHENG_SANDBOX": "1",
        "ZHICHENG_INSTANCE": str(tmp_path),
    }

    def spawn():
        return subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    procs = [spawn() for _ in range(3)]
    try:
        # a guard against hanging, not a speed limit: on a machine at load 20 the four worker processes
        # need well over a minute just to start, so the loop ends when every timer fired, or at 300 s
        deadline = time.monotonic() + 300
        while sum(_fired_per_app(session_factory, ids).values()) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait()
        procs.append(spawn())
        with session_factory() as session:
            while time.monotonic() < deadline:
                left = session.scalar(
                    select(func.count(DueTimer.id)).where(DueTimer.next_attempt_at <= LAPSE)
                )
                session.rollback()
                if left == 0:
                    break
                time.sleep(0.1)
    finally:
        for p in procs[1:]:
            p.terminate()
        errors = [p.communicate(timeout=30)[1].decode() for p in procs[1:]]
    assert _fired_per_app(session_factory, ids) == dict.fromkeys(ids, 1), errors
    with session_factory() as session:
        assert all(history.verify_chain(session, a).ok for a in ids)
