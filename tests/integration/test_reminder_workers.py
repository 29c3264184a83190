"""Reminders with several worker processes on PostgreSQL, one killed mid-run: each reminder exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from calendars import TZ
from engine.accounts.models import User
from engine.reminders.tables import Notification, Outbox
from engine.store import services
from engine.store.sandbox import DbSandboxClock

OPENING_DAY = datetime(2020, 11, 17, 9, tzinfo=TZ)  # applicant_submit opens: every draft is reminded today

WORKER = (
    "from flask.cli import FlaskGroup; from webapp import create_app; "
    "from webapp.cli.store import STORE_COMMANDS; g = FlaskGroup(create_app=create_app); "
    "[g.add_command(c) for c in STORE_COMMANDS]; g.main(['worker', '--interval', '0.05', '--batch', '3'])"
)


def _drafts(session_factory, clock, world, n: int) -> list[int]:
    ids = []
    with session_factory() as session:
        for i in range(n):
            user = User(
                username=f"r{i}",
                real_name=f"申报人{i}",
                password_hash="!",
                mobile=f"139{i:08d}",
                created_at=clock.now(),
            )
            session.add(user)
            session.commit()
            ids.append(services.start_application(session, clock, user.id, world.orgs["unit_a"]))
    return ids


def _counts(session_factory):
    with session_factory() as session:
        return dict(
            session.execute(select(Outbox.channel, func.count()).group_by(Outbox.channel)).all()
        ), session.scalar(select(func.count(Notification.id)))


@pytest.mark.postgres
def test_two_workers_and_a_killed_one_remind_each_person_exactly_once(
    session_factory, clock, world, database_url, tmp_path
):
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL")
    ids = _drafts(session_factory, clock, world, 120)
    DbSandboxClock(session_factory).set(OPENING_DAY)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ZHICHENG_SANDBOX": "1",
        "ZHICHENG_INSTANCE": str(tmp_path),
    }
    env.pop("ZHICHENG_SMTP_HOST", None)

    def spawn():
        return subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    procs = [spawn(), spawn()]
    try:
        deadline = time.monotonic() + 90
        while _counts(session_factory)[0].get("sms", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(procs[0].pid, signal.SIGKILL)  # mid-run: claims of its open transaction roll back
        procs[0].wait()
        procs.append(spawn())
        while time.monotonic() < deadline:
            with session_factory() as session:
                pending = session.scalar(select(func.count(Outbox.id)).where(Outbox.status == "pending"))
                inapp = session.scalar(select(func.count(Outbox.id)).where(Outbox.channel == "inapp"))
            if inapp == len(ids) and pending == 0:
                break
            time.sleep(0.1)
    finally:
        for p in procs[1:]:
            p.terminate()
        errors = [p.communicate(timeout=30)[1].decode() for p in procs[1:]]
    with session_factory() as session:
        per_person = session.execute(
            select(Outbox.application_id, Outbox.user_id, Outbox.channel, func.count()).group_by(
                Outbox.application_id, Outbox.user_id, Outbox.channel
            )
        ).all()
        notes = session.execute(
            select(Notification.application_id, func.count()).group_by(Notification.application_id)
        ).all()
        statuses = dict(session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
    assert {(a, c) for a, _, c, _ in per_person} == {(a, c) for a in ids for c in ("inapp", "sms")}, errors
    assert all(n == 1 for *_, n in per_person)
    assert dict(notes) == dict.fromkeys(ids, 1)
    assert statuses == {"sent": 2 * len(ids)}
