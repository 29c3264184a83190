"""The checkpoint log: an append-only Merkle log of every history event, with signed tree heads.

How a log over changing chain heads stays append-only: the leaves are not "the current head of each
application" (that set changes in place) but log entries `(application id, seq, event hash)`, appended when
a checkpoint is made for every event not logged yet, in (application id, seq) order. An application's
current head is therefore always a leaf, each of its earlier heads too, and each checkpoint's tree is the
previous tree plus new leaves on the right — which the RFC 9162 consistency proof stored with each
checkpoint shows. Logging every event, not only heads, costs one small row per event and lets verify name
exactly the first event a forger changed.

A checkpoint is made on demand (`zhicheng audit checkpoint`) and by the timer worker when the last one is
older than an hour on the engine clock and new events exist. Before it signs, the checkpointer re-hashes
the new events and checks that they chain from what was logged; an application whose chain is broken is
left out (and reported), so a signature never covers a tampered chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import ZhichengError
from engine.store import history
from engine.store.tables import HistoryEvent
from engine.store.uow import UnitOfWork

from . import merkle, signing
from .tables import Checkpoint, LogEntry

CHECKPOINT_INTERVAL = timedelta(hours=1)
_PG_LOCK = 0x7A6863_6B7074  # "zhckpt": one checkpointer at a time on PostgreSQL


class LogTampered(ZhichengError):
    """The stored log does not match its last checkpoint: the checkpointer refuses to extend it."""


def entry_bytes(application_id: int, seq: int, event_hash: str) -> bytes:
    """The bytes a leaf hashes: canonical JSON of the entry (documented in README "Auditors")."""
    return history.canonical_json({"application_id": application_id, "hash": event_hash, "seq": seq}).encode()


def entry_leaf(application_id: int, seq: int, event_hash: str) -> bytes:
    return merkle.leaf_hash(entry_bytes(application_id, seq, event_hash))


@dataclass
class CheckpointReport:
    checkpoint_id: int | None = None
    tree_size: int = 0
    added: int = 0
    root_hash: str = ""
    at: datetime | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (application, why it was left out)


def latest(session: Session) -> Checkpoint | None:
    return session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))


def load_leaves(session: Session, size: int | None = None) -> list[tuple[int, int, str]]:
    """(application id, seq, event hash) of the log's leaves in order (the first `size` of them)."""
    q = select(LogEntry.leaf_index, LogEntry.application_id, LogEntry.seq, LogEntry.event_hash).order_by(
        LogEntry.leaf_index
    )
    if size is not None:
        q = q.where(LogEntry.leaf_index < size)
    rows = session.execute(q).all()
    for expected, row in enumerate(rows):
        if row.leaf_index != expected:
            raise LogTampered(f"检查点日志缺少第 {expected} 项（日志被删改）", leaf_index=expected)
    return [(r.application_id, r.seq, r.event_hash) for r in rows]


def _unlogged_events(session: Session) -> list[HistoryEvent]:
    """Every history event not in the log yet, by application and seq (an anti-join on the unique keys)."""
    return list(
        session.scalars(
            select(HistoryEvent)
            .outerjoin(
                LogEntry,
                (LogEntry.application_id == HistoryEvent.application_id) & (LogEntry.seq == HistoryEvent.seq),
            )
            .where(LogEntry.leaf_index.is_(None))
            .order_by(HistoryEvent.application_id, HistoryEvent.seq)
        )
    )


def _chain_ok(event: HistoryEvent, prev_seq: int, prev_hash: str) -> str:
    """Why this event cannot be logged after (prev_seq, prev_hash), or '' if it can."""
    if event.seq != prev_seq + 1:
        return f"缺少第 {prev_seq + 1} 条记录"
    if event.prev_hash != prev_hash:
        return f"第 {event.seq} 条记录不接续已记入日志的第 {prev_seq} 条"
    recomputed = history.event_hash(
        application_id=event.application_id,
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        org_id=event.org_id,
        event_type=event.event_type,
        stage=event.stage,
        data_json=event.data_json,
        prev_hash=event.prev_hash,
    )
    return "" if recomputed == event.hash else f"第 {event.seq} 条记录内容与哈希不符"


def make_checkpoint(
    session: Session, clock: Clock, private_key, *, only_if_new: bool = False
) -> CheckpointReport | None:
    """Log every new event, sign the new tree head and store it with its consistency proof.

    Returns None when `only_if_new` and nothing new happened, or another checkpointer got there first.
    Raises LogTampered when the stored log no longer matches its last checkpoint.
    """
    report = CheckpointReport()
    public = private_key.public_key()
    kid = signing.key_id(public)
    with UnitOfWork(session) as uow:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        prev = latest(session)
        prev_size = prev.tree_size if prev else 0
        leaves = load_leaves(session)
        if len(leaves) != prev_size:
            raise LogTampered(
                f"检查点日志有 {len(leaves)} 项，最后一个检查点记录了 {prev_size} 项（日志被删改）"
            )
        hashes = [entry_leaf(*leaf) for leaf in leaves]
        if prev and merkle.root_of(hashes).hex() != prev.root_hash:
            raise LogTampered(f"检查点日志与第 {prev.id} 号检查点的根哈希不符（日志被删改）")
        heads: dict[int, tuple[int, str]] = {}
        for app_id, seq, event_hash in leaves:
            heads[app_id] = (seq, event_hash)
        broken: set[int] = set()
        new_rows = []
        for event in _unlogged_events(session):
            if event.application_id in broken:
                continue
            prev_seq, prev_hash = heads.get(event.application_id, (0, history.GENESIS))
            why = _chain_ok(event, prev_seq, prev_hash)
            if why:
                broken.add(event.application_id)
                report.skipped.append((event.application_id, why))
                continue
            heads[event.application_id] = (event.seq, event.hash)
            new_rows.append(
                LogEntry(
                    leaf_index=prev_size + len(new_rows),
                    application_id=event.application_id,
                    seq=event.seq,
                    event_hash=event.hash,
                )
            )
            hashes.append(entry_leaf(event.application_id, event.seq, event.hash))
        if only_if_new and not new_rows:
            return None
        size = len(hashes)
        tree = merkle.MerkleTree(hashes)
        proof = merkle.consistency_proof(prev_size, hashes)
        if prev and not merkle.verify_consistency(
            prev_size, size, bytes.fromhex(prev.root_hash), tree.root, proof
        ):
            raise LogTampered("新检查点无法证明与上一个检查点一致")  # cannot happen unless the code is wrong
        now = clock.now()
        root = tree.root.hex()
        signature = signing.sign(private_key, signing.checkpoint_message(size, root, now, kid))
        session.add_all(new_rows)
        row = Checkpoint(
            tree_size=size,
            root_hash=root,
            at=now,
            key_id=kid,
            signature=signature,
            previous_size=prev_size,
            consistency_json=json.dumps([p.hex() for p in proof]),
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            return None  # another checkpointer logged the same events first; its checkpoint stands
        report.checkpoint_id, report.tree_size, report.added = row.id, size, len(new_rows)
        report.root_hash, report.at = root, now
        uow.commit()
    return report


def due(session: Session, now: datetime, interval: timedelta = CHECKPOINT_INTERVAL) -> bool:
    """Whether the worker should try a checkpoint: none yet, or the last is `interval` old."""
    last_at = session.scalar(select(func.max(Checkpoint.at)))
    return last_at is None or now - last_at >= interval


class WorkerCheckpointer:
    """The timer worker's hook: at most one checkpoint per `interval` of engine time, only when events are new."""

    def __init__(self, private_key, interval: timedelta = CHECKPOINT_INTERVAL):
        self.private_key = private_key
        self.interval = interval
        self._tried_at: datetime | None = None  # a quiet log is looked at again after interval / 12

    def __call__(self, session_factory, clock: Clock) -> CheckpointReport | None:
        now = clock.now()
        if self._tried_at is not None and now - self._tried_at < self.interval / 12:
            return None
        with session_factory() as session:
            if not due(session, now, self.interval):
                return None
            self._tried_at = now
            return make_checkpoint(session, clock, self.private_key, only_if_new=True)
