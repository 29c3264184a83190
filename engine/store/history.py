"""The hash-chained history of each application: who, which org, when (engine clock), what, with what data.

Each event's hash is sha256 over a canonical JSON of its fields plus the previous event's hash, so editing,
inserting or deleting an event breaks every later link. Events are written in the action's transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.events import RecordedEvent as EventView

from .tables import ApplicationRow, HistoryEvent
from .uow import Prepared

GENESIS = "0" * 64


def canonical_json(value) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same data always gives the same text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(
    *,
    application_id: int,
    seq: int,
    at: datetime,
    actor_id,
    org_id,
    event_type: str,
    stage,
    data_json: str,
    prev_hash: str,
) -> str:
    """sha256 hex of the canonical event fields and the previous hash."""
    fields = {
        "application_id": application_id,
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(),
        "actor_id": actor_id,
        "org_id": org_id,
        "event_type": event_type,
        "stage": stage,
        "data": data_json,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """The result of verifying one application's chain; `broken_seq` is the first bad event."""

    application_id: int
    ok: bool
    events: int
    broken_seq: int | None = None
    reason: str = ""


def chain_event(
    application_id: int,
    prev_seq: int,
    prev_hash: str,
    *,
    at: datetime,
    event_type: str,
    actor_id=None,
    org_id=None,
    stage=None,
    data: dict | None = None,
) -> dict:
    """The row of the event after (prev_seq, prev_hash), hash computed; nothing is written."""
    data_json = canonical_json(data or {})
    seq = prev_seq + 1
    fields = {
        "application_id": application_id,
        "seq": seq,
        "at": at,
        "actor_id": actor_id,
        "org_id": org_id,
        "event_type": event_type,
        "stage": stage,
        "data_json": data_json,
        "prev_hash": prev_hash,
    }
    return {**fields, "hash": event_hash(**fields)}


def insert_events(session: Session, rows: list[dict]) -> None:
    """Write chained event rows in one statement (the caller moves the application's head with them)."""
    if rows:
        _INSERT_EVENT.rowcount(session, rows[0] if len(rows) == 1 else rows)


_EVENT_COLUMNS = (
    "application_id",
    "seq",
    "at",
    "actor_id",
    "org_id",
    "event_type",
    "stage",
    "data_json",
    "prev_hash",
    "hash",
)
_INSERT_EVENT = Prepared(insert(HistoryEvent.__table__), _EVENT_COLUMNS)


def append(
    session: Session,
    application_id: int,
    *,
    at: datetime,
    event_type: str,
    actor_id=None,
    org_id=None,
    stage=None,
    data: dict | None = None,
) -> HistoryEvent:
    """Add the next event of an application's chain to the session (the caller's unit of work commits)."""
    last = session.execute(
        select(HistoryEvent.seq, HistoryEvent.hash)
        .where(HistoryEvent.application_id == application_id)
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    ).first()
    prev_seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    event = HistoryEvent(
        **chain_event(
            application_id,
            prev_seq,
            prev,
            at=at,
            event_type=event_type,
            actor_id=actor_id,
            org_id=org_id,
            stage=stage,
            data=data,
        )
    )
    session.add(event)
    session.flush()
    session.execute(  # the head the hot path links to without reading the chain
        update(ApplicationRow)
        .where(ApplicationRow.id == application_id)
        .values(head_seq=event.seq, head_hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    return event


def events(session: Session, application_id: int) -> list[EventView]:
    """An application's events in order."""
    rows = session.scalars(
        select(HistoryEvent).where(HistoryEvent.application_id == application_id).order_by(HistoryEvent.seq)
    )
    return [
        EventView(r.seq, r.at, r.actor_id, r.org_id, r.event_type, r.stage, json.loads(r.data_json), r.hash)
        for r in rows
    ]


def verify_chain(session: Session, application_id: int) -> ChainCheck:
    """Recompute every hash of an application's chain; report the first event that does not match."""
    return load_chain(session, application_id)[0]


_CHAIN = HistoryEvent.__table__
_CHAIN_ROWS = (
    select(
        _CHAIN.c.seq,
        _CHAIN.c.at,
        _CHAIN.c.actor_id,
        _CHAIN.c.org_id,
        _CHAIN.c.event_type,
        _CHAIN.c.stage,
        _CHAIN.c.data_json,
        _CHAIN.c.prev_hash,
        _CHAIN.c.hash,
    )
    .where(_CHAIN.c.application_id == bindparam("app_id"))
    .order_by(_CHAIN.c.seq)
)


def load_chain(session: Session, application_id: int) -> tuple[ChainCheck, list[EventView]]:
    """The chain check and the events, from one read of the history (`audit verify` needs both)."""
    rows = session.connection().execute(_CHAIN_ROWS, {"app_id": application_id}).all()
    views = [
        EventView(r.seq, r.at, r.actor_id, r.org_id, r.event_type, r.stage, json.loads(r.data_json), r.hash)
        for r in rows
    ]
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return ChainCheck(
                application_id, False, len(rows), row.seq, f"缺少第 {expected_seq} 条记录"
            ), views
        if row.prev_hash != prev:
            return (
                ChainCheck(
                    application_id, False, len(rows), row.seq, "前一条记录的哈希不符（记录被删除或替换）"
                ),
                views,
            )
        recomputed = event_hash(
            application_id=application_id,
            seq=row.seq,
            at=row.at,
            actor_id=row.actor_id,
            org_id=row.org_id,
            event_type=row.event_type,
            stage=row.stage,
            data_json=row.data_json,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            return (
                ChainCheck(application_id, False, len(rows), row.seq, "记录内容与哈希不符（记录被修改）"),
                views,
            )
        prev = row.hash
    return ChainCheck(application_id, True, len(rows)), views
