"""Deliver queued outbox rows (e-mail, SMS): one row per transaction, retried with exponential backoff, and
parked as an incident after the last attempt. A row whose task was done meanwhile is cancelled, not sent.

On PostgreSQL a row is locked FOR UPDATE SKIP LOCKED while it is sent, so workers never send the same row
at once. A worker killed after the channel accepted a message but before its commit sends it again on the
next sweep: the claim is exactly once, the outside channel at least once in that narrow window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.store.tables import Incident, WorkItem
from engine.store.uow import UnitOfWork

from .senders import DeliveryFailed, Sender
from .tables import Outbox

MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=1)


@dataclass
class DeliveryReport:
    sent: int = 0
    cancelled: int = 0
    retried: int = 0
    failed: list[int] = field(default_factory=list)  # outbox ids given up on (each has an incident)


def _next(session: Session, now, channels) -> Outbox | None:
    query = (
        select(Outbox)
        .where(Outbox.status == "pending", Outbox.channel.in_(channels), Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def _task_open(session: Session, row: Outbox) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    WorkItem.application_id == row.application_id,
                    WorkItem.stage == row.stage,
                    WorkItem.deadline == row.task_deadline,
                )
            )
        )
    )


def deliver(
    session_factory,
    clock: Clock,
    senders: dict[str, Sender],
    *,
    limit: int = 200,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: timedelta = BACKOFF,
) -> DeliveryReport:
    """Send up to `limit` due outbox rows through the configured channels."""
    report = DeliveryReport()
    if not senders:
        return report
    for _ in range(limit):
        now = clock.now()
        with session_factory() as session, UnitOfWork(session) as uow:
            row = _next(session, now, list(senders))
            if row is None:
                break
            if not _task_open(session, row):
                row.status = "cancelled"
                report.cancelled += 1
            else:
                try:
                    senders[row.channel].send(row.address or "", row.subject, row.body)
                except DeliveryFailed as exc:
                    _failed(session, row, str(exc), now, max_attempts, backoff, report)
                except Exception as exc:  # noqa: BLE001 - a plug-in sender's bug is a failed delivery, not a crash
                    _failed(session, row, f"{type(exc).__name__}: {exc}", now, max_attempts, backoff, report)
                else:
                    row.status, row.sent_at, row.attempts = "sent", now, row.attempts + 1
                    report.sent += 1
            uow.commit()
    return report


def _failed(session: Session, row: Outbox, error: str, now, max_attempts, backoff, report) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    if row.attempts >= max_attempts:
        row.status, row.next_attempt_at = "failed", None
        channel = {"email": "邮件", "sms": "短信"}.get(row.channel, row.channel)
        session.add(
            Incident(
                application_id=row.application_id,
                error=f"提醒{channel}（发往 {row.address}）{row.attempts} 次发送失败：{error}"[:4000],
                at=now,
                resolved=False,
            )
        )
        report.failed.append(row.id)
    else:
        row.next_attempt_at = now + backoff * (2 ** (row.attempts - 1))
        report.retried += 1


def outbox_depth(session: Session) -> dict[str, int]:
    """Pending outbox rows per channel (for /metrics)."""
    rows = session.execute(
        select(Outbox.channel, func.count()).where(Outbox.status == "pending").group_by(Outbox.channel)
    )
    return {channel: count for channel, count in rows}
