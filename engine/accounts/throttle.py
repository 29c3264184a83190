"""Login throttling shared by every web worker: failed password checks are counted per client address and per
account in the `login_throttle` table, and past a free allowance each further failure doubles the wait.

Why not a hard lock: five anonymous failures used to lock any account (the operator's too) for 15 minutes.
A growing delay keeps guessing slow while the owner, after a short wait, still gets in. The account key is
built from the typed username whether or not it exists, so throttling never reveals which accounts exist.
Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .errors import LoginThrottled
from .models import LoginThrottle


@dataclass(frozen=True)
class Policy:
    """`free` failures within `window` cost nothing; failure n > free waits base·2^(n-free-1), at most cap."""

    free: int
    base: timedelta
    cap: timedelta
    window: timedelta

    def delay(self, failures: int) -> timedelta:
        if failures <= self.free:
            return timedelta(0)
        return min(self.cap, self.base * 2 ** min(failures - self.free - 1, 30))


# An office behind one NAT address shares its allowance, hence the larger one for addresses.
ADDRESS_POLICY = Policy(
    free=20, base=timedelta(seconds=1), cap=timedelta(minutes=15), window=timedelta(hours=1)
)
# Capped low so that nobody can keep an account's owner out for long (the old lock's denial of service).
ACCOUNT_POLICY = Policy(
    free=5, base=timedelta(seconds=1), cap=timedelta(minutes=5), window=timedelta(hours=1)
)
KINDS = {"addr": ADDRESS_POLICY, "account": ACCOUNT_POLICY}
KIND_LABELS = {"addr": "客户端地址", "account": "账户"}


def address_key(address: str | None) -> str:
    """The throttle key of a client address; IPv6 clients are grouped by their /64 (one home or host)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "addr:unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def account_key(username: str | None) -> str:
    """The throttle key of a typed username (existing or not), case-folded like ID numbers' X."""
    return "account:" + (username or "").strip().upper()[:150]


def _policy(key: str) -> Policy:
    return KINDS.get(key.split(":", 1)[0], ACCOUNT_POLICY)


def check(session: Session, now: datetime, keys: list[str]) -> None:
    """Raise LoginThrottled if any key must still wait; its message says until when."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
    waits = [r.blocked_until for r in rows if r.blocked_until is not None and r.blocked_until > now]
    if waits:
        until = max(waits)
        seconds = max(1, int((until - now).total_seconds() + 0.999))
        raise LoginThrottled(f"登录尝试过于频繁，请 {_duration(seconds)}后再试", until=until)


def _duration(seconds: int) -> str:
    return f"{seconds} 秒" if seconds < 120 else f"{(seconds + 59) // 60} 分钟"


def record_failure(session: Session, now: datetime, keys: list[str]) -> None:
    """Count one failed password check against each key (atomically, so concurrent workers never lose one)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for key in keys:
        policy = _policy(key)
        session.execute(
            insert(LoginThrottle)
            .values(key=key, failures=0, last_failure_at=now, blocked_until=None)
            .on_conflict_do_nothing()
        )
        stale = LoginThrottle.last_failure_at < now - policy.window
        failures = session.scalar(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(failures=case((stale, 1), else_=LoginThrottle.failures + 1), last_failure_at=now)
            .returning(LoginThrottle.failures)
            .execution_options(synchronize_session=False)
        )
        wait = policy.delay(failures or 0)
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(blocked_until=now + wait if wait else None)
            .execution_options(synchronize_session=False)
        )
    session.flush()


def clear(session: Session, key: str) -> bool:
    """Forget a key's failures (a successful login clears its account key); True if there were any."""
    result = session.execute(
        delete(LoginThrottle).where(LoginThrottle.key == key).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class ThrottleInfo:
    key: str
    kind_label: str
    subject: str
    failures: int
    last_failure_at: datetime
    blocked_until: datetime | None
    blocked: bool


def list_throttles(session: Session, now: datetime) -> list[ThrottleInfo]:
    """Every key with recent failures, blocked ones first."""
    rows = session.scalars(select(LoginThrottle).order_by(LoginThrottle.last_failure_at.desc())).all()
    found = []
    for r in rows:
        if r.last_failure_at < now - _policy(r.key).window and not (
            r.blocked_until and r.blocked_until > now
        ):
            continue  # expired: the next failure starts afresh
        kind, _, subject = r.key.partition(":")
        blocked = r.blocked_until is not None and r.blocked_until > now
        found.append(
            ThrottleInfo(
                r.key,
                KIND_LABELS.get(kind, kind),
                subject,
                r.failures,
                r.last_failure_at,
                r.blocked_until,
                blocked,
            )
        )
    return sorted(found, key=lambda t: (not t.blocked, -t.last_failure_at.timestamp()))
