"""What the auditor pages show about checkpoints: the log's state, and how far each application is covered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.store.tables import HistoryEvent

from .logcheck import load_log
from .tables import Checkpoint, LogEntry


@dataclass(frozen=True)
class CheckpointLine:
    id: int
    at: datetime
    tree_size: int
    added: int
    key_id: str
    root_prefix: str


@dataclass(frozen=True)
class LogStatus:
    latest: CheckpointLine | None  # the latest checkpoint the key accepts (any, without a key)
    checkpoints: int
    refused: int
    signatures_checked: bool
    problems: list[str]
    recent: list[CheckpointLine]
    events: int  # every history event stored
    covered_events: int  # of which the latest accepted checkpoint signed


def _line(cp: Checkpoint) -> CheckpointLine:
    return CheckpointLine(
        cp.id, cp.at, cp.tree_size, cp.tree_size - cp.previous_size, cp.key_id, cp.root_hash[:16]
    )


def log_status(session: Session, public_key=None, recent: int = 10) -> LogStatus:
    """The whole log checked once (signatures when a key is given), and the latest checkpoints."""
    view = load_log(session, public_key)
    rows = list(session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(recent)))
    events = session.scalar(select(func.count()).select_from(HistoryEvent)) or 0
    return LogStatus(
        _line(view.latest) if view.latest else None,
        view.checkpoints,
        view.refused,
        view.signatures_checked,
        [str(p) for p in view.problems],
        [_line(cp) for cp in rows],
        events,
        view.latest.tree_size if view.latest and view.trusted else 0,
    )


@dataclass(frozen=True)
class AppCoverage:
    checkpoint_id: int | None
    seq: int  # the last event of the application the checkpoint signed (0: none)
    events: int  # events stored now

    @property
    def label(self) -> str:
        if not self.seq:
            return "未覆盖"
        if self.seq >= self.events:
            return f"已覆盖（第 {self.checkpoint_id} 号检查点）"
        return f"覆盖至第 {self.seq} 条（另有 {self.events - self.seq} 条待下次检查点）"


def coverage(session: Session, app_ids: list[int]) -> dict[int, AppCoverage]:
    """How far the latest checkpoint covers each application (from the log index; `verify` proves it)."""
    if not app_ids:
        return {}
    latest = session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))
    logged: dict[int, int] = {}
    if latest is not None:
        logged = dict(
            session.execute(
                select(LogEntry.application_id, func.max(LogEntry.seq))
                .where(LogEntry.application_id.in_(app_ids), LogEntry.leaf_index < latest.tree_size)
                .group_by(LogEntry.application_id)
            ).all()
        )
    stored = dict(
        session.execute(
            select(HistoryEvent.application_id, func.max(HistoryEvent.seq))
            .where(HistoryEvent.application_id.in_(app_ids))
            .group_by(HistoryEvent.application_id)
        ).all()
    )
    return {
        a: AppCoverage(latest.id if latest and a in logged else None, logged.get(a, 0), stored.get(a, 0))
        for a in app_ids
    }
