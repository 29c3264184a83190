"""Deadline reminders from the work-item index: each offset once per holder, none after the task is done,
in-app notifications scoped to their person, queued e-mail retried with backoff and then an incident."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, update

from calendars import TZ
from engine.accounts.models import User
from engine.clock import FixedClock
from engine.errors import NotFound
from engine.reminders import delivery, inbox
from engine.reminders.senders import DeliveryFailed
from engine.reminders.sweep import sweep
from engine.reminders.tables import Notification, Outbox
from engine.store import queries, services
from engine.store.tables import Incident

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


def _names(world, report) -> set[tuple[str, str, str]]:
    by_id = {v: k for k, v in world.users.items()}
    return {(stage, key, by_id[user]) for _, stage, key, user in report.reminded}


def _start(session_factory, clock, world, who="alice", unit="unit_a") -> int:
    with session_factory() as session:
        return services.start_application(session, clock, world.users[who], world.orgs[unit])


def _submit(session_factory, clock, world, app_id, who="alice"):
    with session_factory() as session:
        services.perform_task(
            session,
            clock,
            app_id,
            "applicant_submit",
            queries.actor_for(session, world.users[who]),
            DECLARATION,
        )


def test_applicant_reminded_on_opening_day_then_at_each_offset_once(session_factory, clock, world):
    _start(session_factory, clock, world)  # 11-17 09:00; applicant_submit closes 11-23 24:00
    assert _names(world, sweep(session_factory, clock)) == {("applicant_submit", "opens", "alice")}
    assert sweep(session_factory, clock).reminded == []  # same day again: nothing new
    # 11-18 (Wed) is 3 working days before Monday 11-23; 11-20 (Fri) is 1 working day before.
    assert _names(world, sweep(session_factory, FixedClock(at(11, 18, 0)))) == {
        ("applicant_submit", "before:3", "alice")
    }
    assert sweep(session_factory, FixedClock(at(11, 19))).reminded == []
    assert _names(world, sweep(session_factory, FixedClock(at(11, 20, 8)))) == {
        ("applicant_submit", "before:1", "alice")
    }
    assert sweep(session_factory, FixedClock(at(11, 22))).reminded == []  # Sunday: already reminded Friday


def test_org_members_reminded_and_none_after_the_task_is_done(session_factory, clock, world):
    app_id = _start(session_factory, clock, world)
    clock.set(at(11, 20))
    _submit(session_factory, clock, world, app_id)
    # unit_review closes 11-26 (Thu): 3 working days before is Monday 11-23. Only unit_a's admin holds it.
    assert sweep(session_factory, FixedClock(at(11, 20, 12))).reminded == []
    report = sweep(session_factory, FixedClock(at(11, 23, 9)))
    assert ("unit_review", "before:3", "unit_a_admin") in _names(world, report)
    assert not {n for n in _names(world, report) if n[2] in ("alice", "unit_b_admin", "dept_reviewer")}
    clock.set(at(11, 24))
    with session_factory() as session:
        services.perform_task(
            session,
            clock,
            app_id,
            "unit_review",
            queries.actor_for(session, world.users["unit_a_admin"]),
            {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"},
        )
    # 11-25 would be the 1-working-day reminder of unit_review: the task is done, nobody is reminded of it.
    report = sweep(session_factory, FixedClock(at(11, 25, 9)))
    assert not [r for r in report.reminded if r[1] == "unit_review"]


def test_email_queued_only_for_people_with_an_address_and_cancelled_when_done(session_factory, clock, world):
    with session_factory() as session:
        session.execute(update(User).where(User.id == world.users["alice"]).values(email="alice@example.org"))
        session.commit()
    app_id = _start(session_factory, clock, world)
    sweep(session_factory, clock, channels=("email",))
    with session_factory() as session:
        rows = session.execute(select(Outbox.channel, Outbox.status, Outbox.address)).all()
    assert sorted(rows) == [("email", "pending", "alice@example.org"), ("inapp", "sent", None)]
    clock.set(at(11, 20))
    _submit(session_factory, clock, world, app_id)
    sent = []

    class Recorder:
        def send(self, address, subject, body):
            sent.append(address)

    report = delivery.deliver(session_factory, clock, {"email": Recorder()})
    assert (report.sent, report.cancelled, sent) == (0, 1, [])


def test_failed_email_backs_off_then_becomes_an_incident(session_factory, clock, world):
    with session_factory() as session:
        session.execute(update(User).where(User.id == world.users["alice"]).values(email="alice@example.org"))
        session.commit()
    app_id = _start(session_factory, clock, world)
    sweep(session_factory, clock, channels=("email",))

    class Down:
        def send(self, address, subject, body):
            raise DeliveryFailed("连接被拒绝")

    now = clock.now()
    for attempt in range(1, 4):
        report = delivery.deliver(
            session_factory, FixedClock(now), {"email": Down()}, max_attempts=3, backoff=timedelta(minutes=1)
        )
        with session_factory() as session:
            row = session.scalar(select(Outbox).where(Outbox.channel == "email"))
        assert row.attempts == attempt
        if attempt < 3:
            assert row.status == "pending" and row.next_attempt_at == now + timedelta(
                minutes=2 ** (attempt - 1)
            )
            assert delivery.deliver(session_factory, FixedClock(now), {"email": Down()}).retried == 0
            now = row.next_attempt_at
    assert row.status == "failed" and report.failed == [row.id]
    with session_factory() as session:
        incidents = session.scalars(select(Incident.error).where(Incident.application_id == app_id)).all()
        assert len(incidents) == 1 and "连接被拒绝" in incidents[0]
        assert delivery.outbox_depth(session) == {}


def test_notification_centre_is_scoped_to_its_person(session_factory, clock, world):
    _start(session_factory, clock, world)
    sweep(session_factory, clock)
    alice, bob = world.users["alice"], world.users["bob"]
    with session_factory() as session:
        assert inbox.unread_count(session, alice) == 1 and inbox.unread_count(session, bob) == 0
        (note,) = inbox.notifications(session, alice)
        assert "申报人填报" in note.subject and "11月23日截止" in note.subject
        with pytest.raises(NotFound):
            inbox.mark_read(session, clock, bob, note.id)  # bob may not mark alice's
        assert inbox.unread_count(session, alice) == 1
        assert inbox.mark_read(session, clock, alice, note.id) == 1
        assert inbox.unread_count(session, alice) == 0
        assert session.scalar(select(func.count(Notification.id))) == 1
