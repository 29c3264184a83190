"""Tables of reminders: the outbox (one row per reminder, person and channel: the claim) and the in-app
notifications the bell shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.accounts.models import UTCDateTime
from engine.db import Base

CHANNELS = ("inapp", "email", "sms")
# pending: waiting to be delivered; sent; cancelled: the task was done before delivery; failed: gave up
# after the last retry (an incident records it).
OUTBOX_STATUSES = ("pending", "sent", "cancelled", "failed")


class Outbox(Base):
    """One reminder to one person on one channel. Its unique key is the claim: a second worker (or the same
    one after a crash) inserting the same reminder gets a conflict and sends nothing."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint(
            "application_id",
            "stage",
            "task_deadline",
            "offset_key",
            "user_id",
            "channel",
            name="uq_outbox_reminder",
        ),
        Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    stage: Mapped[str] = mapped_column(String(50))
    # The deadline of the task reminded of: a stage re-done after a return is a new task with its own deadline.
    task_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    offset_key: Mapped[str] = mapped_column(String(20))  # "before:3", "before:1", "opens"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(200))  # e-mail address or mobile; NULL in-app
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Notification(Base):
    """An in-app message in a person's notification centre (the bell); written with its outbox claim."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
