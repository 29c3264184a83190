"""Tables for accounts: organisations (the four-tier tree), users and their memberships."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base

ORG_TYPES = (
    "unit",
    "district_dept",
    "hr_agency",
    "district_hr_office",
    "municipal_dept",
    "committee",
    "city_hr_office",  # 市职改办: outside the review chain, sees the whole city's campaign on its dashboard
)
ORG_STATUSES = ("pending", "active", "rejected")
ROLES = ("admin", "reviewer", "desk")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite drops the zone; we store naive UTC and re-attach it)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: read time from the engine clock")
        return value.astimezone(UTC).replace(tzinfo=None)

    def bind_processor(self, dialect):
        """On SQLite, the very text SQLAlchemy's DATETIME stores ("2020-11-20 02:00:00.000000") in one C
        call instead of two Python steps: every action binds several instants (tests/unit/test_utc_datetime.py
        holds the two equal)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        to_utc = self.process_bind_param

        def process(value):
            value = to_utc(value, dialect)
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Org(Base):
    __tablename__ = "org"
    __table_args__ = (
        CheckConstraint(_in("type", ORG_TYPES), name="type"),
        CheckConstraint(_in("status", ORG_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # Nullable: preset orgs (committees, HR offices) may be created without one.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    district: Mapped[str | None] = mapped_column(String(50))
    # Committees only: comma-separated series codes the committee reviews.
    series_codes: Mapped[str | None] = mapped_column(Text)
    contact_person: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    parent: Mapped[Org | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    real_name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(200))  # where deadline reminders are e-mailed, if set
    password_hash: Mapped[str] = mapped_column(String(256))
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    is_auditor: Mapped[bool] = mapped_column(Boolean, default=False)
    # None means the whole city.
    auditor_scope_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    # Bumped by logout, password change and reset: a session signed with an older value is no longer valid.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set by an admin's reset (a one-time password): nothing but 修改密码 is reachable until it is changed.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id", "role", name="uq_membership_user_org_role"),
        CheckConstraint(_in("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))


INVITATION_STATUSES = ("pending", "accepted", "declined")


class Invitation(Base):
    """An org admin's offer of a role to an existing account; the person accepts it on their own page."""

    __tablename__ = "invitation"
    __table_args__ = (CheckConstraint(_in("status", INVITATION_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Failed password checks per key ("addr:…" or "account:…"), shared by every web worker through the database."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordReset(Base):
    """Who reset whose password, when, and through which org's authority (None: the system operator)."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
