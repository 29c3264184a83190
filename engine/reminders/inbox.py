"""The notification centre: a person's notifications, the unread count for the bell, marking as read.

Every function is scoped to the person: nobody reads or marks another person's notifications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import NotFound
from engine.store.uow import UnitOfWork

from .tables import Notification


@dataclass(frozen=True)
class NotificationView:
    id: int
    application_id: int
    subject: str
    body: str
    created_at: datetime
    read: bool


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def notifications(session: Session, user_id: int, *, unread_only: bool = False, limit: int = 100):
    """The person's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    )
    return [
        NotificationView(n.id, n.application_id, n.subject, n.body, n.created_at, n.read_at is not None)
        for n in rows
    ]


def mark_read(session: Session, clock: Clock, user_id: int, notification_id: int | None = None) -> int:
    """Mark one notification (or, with None, all) of the person as read; NotFound for another's. Returns count."""
    with UnitOfWork(session) as uow:
        query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        if notification_id is not None:
            owner = session.scalar(select(Notification.user_id).where(Notification.id == notification_id))
            if owner != user_id:
                raise NotFound(f"通知（编号 {notification_id}）不存在", notification_id=notification_id)
            query = query.where(Notification.id == notification_id)
        count = session.execute(
            query.values(read_at=clock.now()).execution_options(synchronize_session=False)
        ).rowcount
        uow.commit()
    return count
