"""Live workflows: a bounded per-process cache over the history, snapshots at intervals, rebuild on a miss.

The history is the record and the stored workflow state is a snapshot of it (README.md in this folder has
the design and its failure cases). An action takes the application's workflow from this cache when the
entry was built from exactly the history the database holds now (same version and chain head), otherwise
it rebuilds it: the latest snapshot, then the events after it re-applied by `engine.audit.replay`, the
same code `audit verify` runs. Entries are taken out while an action works on them and put back only after
its transaction committed, so a rolled-back action can never leave a half-changed workflow behind.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.audit.replay import apply_event, start_from
from engine.clock import SimulatedClock
from engine.db import dialect_name
from engine.errors import ActionRefused
from engine.events import RecordedEvent
from engine.runtime import Application

from . import history
from .tables import HistoryEvent, Incident, WorkflowState
from .uow import Prepared

DEFAULT_CAPACITY = 1000  # ≈ 120 KiB each: about 120 MiB per process
SNAPSHOT_EVERY = 8  # events: a miss replays at most this many minus one
ENDED = ("expired", "confirmed", "not_recommended")


class StateIncident(ActionRefused):
    """The stored snapshot, the history and the application row disagree; nothing was changed.

    Recorded as an incident for an operator (`audit verify APP_ID` names the first divergent event): the
    store never picks one side silently. The person acting is refused with a message, not an error page.
    """

    def __init__(self, detail: str, **context):
        super().__init__(f"该申请书的存档记录需要核查，本次操作未生效，已通知管理员（{detail}）", **context)


@dataclass
class Live:
    """A workflow as of the history head (`head_seq`, `head_hash`), with what was last written from it."""

    app: Application
    version: int
    head_seq: int
    head_hash: str
    snapshot_seq: int  # the event the stored snapshot reflects
    index: tuple | None  # (work items, due timers) as last written to the index tables; None: unknown
    summary: dict | None = None  # the application row's summary columns as last written; None: unknown


def index_signature(app: Application) -> tuple:
    """What the index tables hold for this workflow: compared before rewriting them."""
    items = tuple(
        sorted((t.stage, t.tier, t.org_id, t.actionable_from, t.deadline) for t in app.ready_tasks())
    )
    timers = tuple(sorted((t.name, t.due_at) for t in app.due_timers()))
    return items, timers


class LiveCache:
    """Least-recently-used live workflows of one process, keyed by application id, bounded by `capacity`."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self.capacity = capacity
        self._entries: OrderedDict[int, Live] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, app_id: int, version: int, head_hash: str | None) -> Live | None:
        """Remove and return the entry if it was built from exactly this history; a stale one is dropped."""
        with self._lock:
            live = self._entries.pop(app_id, None)
        if live is not None and live.version == version and live.head_hash == head_hash:
            self.hits += 1
            return live
        self.misses += 1
        return None

    def put(self, app_id: int, live: Live) -> list[tuple[int, Live]]:
        """Keep a committed workflow; return the entries pushed out (least recently used first). An ended
        application is not kept: no action can follow (a read rebuilds it, replaying fewer than
        SNAPSHOT_EVERY events)."""
        evicted = []
        if live.app.status().status in ENDED:
            self.discard(app_id)
            return evicted
        with self._lock:
            self._entries[app_id] = live
            self._entries.move_to_end(app_id)
            while len(self._entries) > self.capacity:
                evicted.append(self._entries.popitem(last=False))
        return evicted

    def make_room(self, app_id: int) -> list[tuple[int, Live]]:
        """Push out least recently used entries so that `app_id` fits; return them (their snapshots may be
        behind: the caller writes those in its own transaction)."""
        evicted = []
        with self._lock:
            while self._entries and len(self._entries) >= self.capacity and app_id not in self._entries:
                evicted.append(self._entries.popitem(last=False))
        return evicted

    def discard(self, app_id: int) -> None:
        with self._lock:
            self._entries.pop(app_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


CACHE = LiveCache(int(os.environ.get("ZHICHENG_LIVE_CACHE", DEFAULT_CAPACITY)))


def _events_after(session: Session, app_id: int, seq: int) -> list[tuple[RecordedEvent, str]]:
    rows = _EVENTS_AFTER.all(session, {"app_id": app_id, "seq": seq})
    out = []
    for r in rows:
        recomputed = history.event_hash(
            application_id=app_id,
            seq=r.seq,
            at=r.at,
            actor_id=r.actor_id,
            org_id=r.org_id,
            event_type=r.event_type,
            stage=r.stage,
            data_json=r.data_json,
            prev_hash=r.prev_hash,
        )
        if recomputed != r.hash:
            raise StateIncident(f"历史记录第 {r.seq} 条与其哈希不符", application_id=app_id, seq=r.seq)
        event = RecordedEvent(
            r.seq, r.at, r.actor_id, r.org_id, r.event_type, r.stage, json.loads(r.data_json), r.hash
        )
        out.append((event, r.prev_hash))
    return out


_EVENTS = HistoryEvent.__table__
_EVENTS_AFTER = Prepared(
    select(
        _EVENTS.c.seq,
        _EVENTS.c.at,
        _EVENTS.c.actor_id,
        _EVENTS.c.org_id,
        _EVENTS.c.event_type,
        _EVENTS.c.stage,
        _EVENTS.c.data_json,
        _EVENTS.c.prev_hash,
        _EVENTS.c.hash,
    )
    .where(_EVENTS.c.application_id == bindparam("app_id"), _EVENTS.c.seq > bindparam("seq"))
    .order_by(_EVENTS.c.seq)
)
_STATES = WorkflowState.__table__
_SNAPSHOT = Prepared(
    select(_STATES.c.state_json, _STATES.c.seq).where(_STATES.c.application_id == bindparam("app_id"))
)


def _upsert_snapshot(dialect_insert) -> Prepared:
    """The application's first snapshot, or a newer one over it; never over a newer snapshot (another
    process may be ahead; two writing the first one at once must not fail either's transaction)."""
    stmt = dialect_insert(_STATES).values(
        application_id=bindparam("app_id"), state_json=bindparam("state_json"), seq=bindparam("new_seq")
    )
    return Prepared(
        stmt.on_conflict_do_update(
            index_elements=[_STATES.c.application_id],
            set_={"state_json": stmt.excluded.state_json, "seq": stmt.excluded.seq},
            where=_STATES.c.seq < stmt.excluded.seq,
        )
    )


_UPSERT_SNAPSHOT = {"sqlite": _upsert_snapshot(sqlite_insert), "postgresql": _upsert_snapshot(pg_insert)}


def rebuild(session: Session, row, deployment, clock) -> Live:
    """The workflow of `row` (an application row: id, version, head_seq, head_hash, status, stage) from
    its latest snapshot and the events after it, or from its `started` event when it has no snapshot yet.
    Raises StateIncident when they disagree."""
    app_id = row.id
    snap = _SNAPSHOT.first(session, {"app_id": app_id})
    if snap is not None and snap.seq > row.head_seq:
        raise StateIncident(
            f"流程状态快照（第 {snap.seq} 条记录后）晚于历史记录（共 {row.head_seq} 条）",
            application_id=app_id,
        )
    snapshot_seq = snap.seq if snap is not None else 0
    tail = _events_after(session, app_id, snapshot_seq)
    if snap is not None:
        try:
            app = Application.restore(deployment, snap.state_json, clock)
        except Exception as exc:  # a damaged snapshot may not even load
            raise StateIncident(f"流程状态快照无法读取：{exc}", application_id=app_id) from exc
        head_seq, head_hash = snap.seq, None
    else:  # the initial state is what the started event creates, exactly as verify's replay creates it
        if not tail or tail[0][0].seq != 1 or tail[0][1] != history.GENESIS:
            raise StateIncident("申请书既没有流程状态快照，也没有完整的创建记录", application_id=app_id)
        (first, _), tail = tail[0], tail[1:]
        app, divergence = start_from(deployment, first)
        if divergence is not None:
            raise StateIncident(f"无法由创建记录重建流程：{divergence}", application_id=app_id)
        head_seq, head_hash = first.seq, first.hash
    if tail:
        replay_clock = SimulatedClock(tail[0][0].at)
        app.rebind(replay_clock)
        app.reset_on_error = False  # a divergence is an incident: this object is dropped
        base = f"快照（第 {snap.seq} 条记录后）" if snap is not None else "创建记录"
        for event, prev_hash in tail:
            if event.seq != head_seq + 1 or (head_hash is not None and prev_hash != head_hash):
                raise StateIncident(f"历史记录在第 {event.seq} 条处不连续", application_id=app_id)
            divergence = apply_event(app, replay_clock, event)
            if divergence is not None:
                raise StateIncident(f"{base}与之后的历史记录不一致：{divergence}", application_id=app_id)
            head_seq, head_hash = event.seq, event.hash
    elif snap is not None:
        head_hash = row.head_hash  # the snapshot is at the head
    app.rebind(clock)
    if head_seq != row.head_seq or head_hash != row.head_hash:
        raise StateIncident(
            f"历史记录的末条（第 {head_seq} 条）与申请书记录的末条（第 {row.head_seq} 条）不符",
            application_id=app_id,
        )
    status = app.status()
    if (status.status, status.stage) != (row.status, row.stage):
        raise StateIncident(
            f"由快照和历史记录重建的状态（{status.status}/{status.stage}）与申请书索引"
            f"（{row.status}/{row.stage}）不一致",
            application_id=app_id,
        )
    app.reset_on_error = False
    # the index rows are rewritten in full after a rebuild: what the tables hold is not assumed
    return Live(app, row.version, head_seq, head_hash, snapshot_seq, None)


def acquire(session: Session, row, deployment, clock, cache: LiveCache = CACHE) -> Live:
    """The live workflow for an application row: from the cache when current, else rebuilt."""
    live = cache.take(row.id, row.version, row.head_hash)
    if live is None:
        live = rebuild(session, row, deployment, clock)
    live.app.rebind(clock)
    return live


def write_snapshot(session: Session, app_id: int, live: Live, *, state: str | None = None) -> None:
    """Store the workflow as of its head (`state`: its serialization, when the caller made it already);
    never replaces a newer snapshot (another process may be ahead)."""
    if state is None:
        state = live.app.to_json()
    params = {"app_id": app_id, "state_json": state, "new_seq": live.head_seq}
    _UPSERT_SNAPSHOT[dialect_name(session)].rowcount(session, params)
    live.snapshot_seq = live.head_seq


def snapshot_due(live: Live, head_seq: int | None = None) -> bool:
    """Every SNAPSHOT_EVERY events (counted from the last snapshot, or from none): a rebuild then replays
    fewer than SNAPSHOT_EVERY events, whether the application is running or has ended. `head_seq`: the
    head the snapshot will reflect, when it is ahead of `live.head_seq` (not yet written)."""
    return (live.head_seq if head_seq is None else head_seq) - live.snapshot_seq >= SNAPSHOT_EVERY


def record_incident(session: Session, app_id: int, error: str, at) -> None:
    """Park a disagreement for an operator, in its own transaction (the action's was rolled back)."""
    session.rollback()
    insert_incident(session, app_id, error, at)
    session.commit()


def insert_incident(session, app_id: int, error: str, at) -> None:
    """An open incident row for an operator, in the caller's transaction (Session or Connection)."""
    _INSERT_INCIDENT.rowcount(
        session, {"application_id": app_id, "error": error[:4000], "at": at, "resolved": False}
    )


_INSERT_INCIDENT = Prepared(insert(Incident.__table__), ("application_id", "error", "at", "resolved"))
