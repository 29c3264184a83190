"""Write what one action changed: the application row (version, summary, chain head), the index rows that
inboxes and timers read, the history events and, at intervals, a state snapshot.

Called inside an action's unit of work, after the engine has run: every statement here is a write, so on
SQLite the write transaction opens only now and stays short. The version check, indexes and history commit
together; the history event is what makes the action durable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from engine.errors import AlreadyHandled
from engine.runtime import Application

from . import history
from .live import Live, index_signature, snapshot_due, write_snapshot
from .tables import ApplicationRow, DueTimer, HistoryEvent, WorkflowState, WorkItem
from .uow import Prepared

CONFLICT_MESSAGE = "该申请书已被他人处理，请刷新后重试"
# Table-level Core statements on the session's connection: the ORM's bulk and unit-of-work machinery cost
# more than the statements themselves on this path.
APPLICATION, WORK_ITEM, DUE_TIMER = ApplicationRow.__table__, WorkItem.__table__, DueTimer.__table__


def summary_fields(app: Application) -> dict:
    """The application-row columns that follow from the workflow: status, stage, waiting org, deadlines."""
    status = app.status()
    fields = {
        "status": status.status,
        "stage": status.stage,
        "waiting_org_id": status.waiting_org,
        "deadline": status.deadline,
        "actionable_from": status.actionable_from,
        "responsible_org_id": status.responsible_org,
        "committee_id": app.chain.get("committee"),  # follows the declaration's series once submitted
    }
    data = app.data
    for key in ("series", "title_sought"):
        if data.get(key):
            fields[key] = str(data[key])[:100]
    return fields


def save_action(session: Session, app_id: int, live: Live, events: list[dict], now: datetime) -> int:
    """Persist one action on a live workflow: `events` are the new history events' fields (at, event_type,
    actor_id, org_id, stage, data) in order. Returns the new version.

    Raises AlreadyHandled when another process wrote this application first (`UPDATE … WHERE version=?`
    matched nothing); the caller's unit of work then rolls everything back.
    """
    rows, seq, head = [], live.head_seq, live.head_hash
    for fields in events:
        row = history.chain_event(app_id, seq, head, **fields)
        rows.append(row)
        seq, head = row["seq"], row["hash"]
    version, summary, before = live.version, summary_fields(live.app), live.summary
    # everything derived from the workflow is computed before the first write: on SQLite the writer lock
    # (engine/db.py) is held from the row UPDATE to the commit, and other processes wait for it
    signature = index_signature(live.app)
    snapshot = live.app.to_json() if snapshot_due(live, seq) else None
    # only the summary columns that changed: SQLite leaves an index alone when no column of it is SET
    changed = (
        summary if before is None else {k: v for k, v in summary.items() if k not in before or before[k] != v}
    )
    matched = _row_update(tuple(changed)).rowcount(
        session,
        {
            "b_id": app_id,
            "b_version": version,
            "version": version + 1,
            "updated_at": now,
            "head_seq": seq,
            "head_hash": head,
            **changed,
        },
    )
    if matched != 1:
        raise AlreadyHandled(CONFLICT_MESSAGE, application_id=app_id)
    live.summary = summary
    live.index = write_indexes(session, app_id, live.app, live.index, after=signature)
    history.insert_events(session, rows)
    live.version, live.head_seq, live.head_hash = version + 1, seq, head
    if snapshot is not None:
        write_snapshot(session, app_id, live, state=snapshot)
    return live.version


_ROW_UPDATES: dict[tuple, object] = {}


def _row_update(summary_keys: tuple):
    """`UPDATE application SET version, updated_at, head, <summary> WHERE id=:b_id AND version=:b_version`,
    built once per set of summary columns (statement building cost more than running it)."""
    stmt = _ROW_UPDATES.get(summary_keys)
    if stmt is None:
        columns = ("version", "updated_at", "head_seq", "head_hash", *summary_keys)
        stmt = _ROW_UPDATES[summary_keys] = Prepared(
            update(APPLICATION)
            .where(APPLICATION.c.id == bindparam("b_id"), APPLICATION.c.version == bindparam("b_version"))
            .values({c: bindparam(c) for c in columns})
        )
    return stmt


# One work item or due timer that changed in place: an UPDATE instead of a DELETE and an INSERT.
_ITEM_FIELDS = ("stage", "tier", "org_id", "actionable_from", "deadline")
_TIMER_FIELDS = ("name", "due_at", "attempts", "next_attempt_at")
_MOVE_ITEM = Prepared(
    update(WORK_ITEM)
    .where(WORK_ITEM.c.application_id == bindparam("b_app"))
    .values({c: bindparam(c) for c in _ITEM_FIELDS})
)
_MOVE_TIMER = Prepared(
    update(DUE_TIMER)
    .where(DUE_TIMER.c.application_id == bindparam("b_app"))
    .values(
        name=bindparam("name"), due_at=bindparam("due_at"), attempts=0, next_attempt_at=bindparam("due_at")
    )
)
_DELETE_ITEMS = Prepared(delete(WORK_ITEM).where(WORK_ITEM.c.application_id == bindparam("b_app")))
_DELETE_TIMERS = Prepared(delete(DUE_TIMER).where(DUE_TIMER.c.application_id == bindparam("b_app")))
_INSERT_ITEMS = Prepared(insert(WORK_ITEM), ("application_id", *_ITEM_FIELDS))
_INSERT_TIMERS = Prepared(insert(DUE_TIMER), ("application_id", *_TIMER_FIELDS))


def write_indexes(
    session: Session,
    app_id: int,
    app: Application,
    before: tuple | None = None,
    *,
    after: tuple | None = None,
) -> tuple:
    """Make the application's work items and due timers say what the workflow says now; rows that have not
    changed are left alone. `before` is what the tables hold (None: unknown); `after` the workflow's
    `index_signature` when the caller computed it already. Returns the new signature."""
    if after is None:
        after = index_signature(app)
    items_before, timers_before = before if before is not None else (None, None)
    items, timers = after
    if items != items_before:
        if items_before is not None and len(items_before) == len(items) == 1:
            _MOVE_ITEM.rowcount(session, {"b_app": app_id, **dict(zip(_ITEM_FIELDS, items[0], strict=True))})
        else:
            if before is None or items_before:
                _DELETE_ITEMS.rowcount(session, {"b_app": app_id})
            if items:
                _INSERT_ITEMS.rowcount(
                    session,
                    [
                        {"application_id": app_id, **dict(zip(_ITEM_FIELDS, item, strict=True))}
                        for item in items
                    ],
                )
    if timers != timers_before:
        if timers_before is not None and len(timers_before) == len(timers) == 1:
            _MOVE_TIMER.rowcount(session, {"b_app": app_id, "name": timers[0][0], "due_at": timers[0][1]})
        else:
            if before is None or timers_before:
                _DELETE_TIMERS.rowcount(session, {"b_app": app_id})
            if timers:
                _INSERT_TIMERS.rowcount(
                    session,
                    [
                        {
                            "application_id": app_id,
                            "name": name,
                            "due_at": due_at,
                            "attempts": 0,
                            "next_attempt_at": due_at,
                        }
                        for name, due_at in timers
                    ],
                )
    return after


def write_state(session: Session, app_id: int, app: Application) -> None:
    """Store `app` as the snapshot after the application's last event and point the row's chain head at that
    event: for tools that rebuild an application outside an action (repairs; the forger of the audit tests).
    """
    head = session.execute(
        select(HistoryEvent.seq, HistoryEvent.hash)
        .where(HistoryEvent.application_id == app_id)
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    ).first()
    seq, hash_ = (head.seq, head.hash) if head else (0, None)
    conn, state = session.connection(), app.to_json()
    written = conn.execute(
        update(WorkflowState.__table__)
        .where(WorkflowState.__table__.c.application_id == app_id)
        .values(state_json=state, seq=seq)
    ).rowcount
    if not written:  # an application with no snapshot yet
        conn.execute(insert(WorkflowState.__table__).values(application_id=app_id, state_json=state, seq=seq))
    conn.execute(update(APPLICATION).where(APPLICATION.c.id == app_id).values(head_seq=seq, head_hash=hash_))
