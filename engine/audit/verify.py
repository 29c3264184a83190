"""`audit verify`: the hash chain, then a replay compared with the stored state and indexes."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.events import RecordedEvent
from engine.runtime import Application
from engine.store import history
from engine.store.services import deployment_for
from engine.store.tables import ApplicationRow, HistoryEvent, WorkflowState, WorkItem

from .replay import Divergence, canonical_state, compare_canonical, replay


@dataclass
class VerifyResult:
    application_id: int
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def recorded_events(session: Session, app_id: int) -> list[RecordedEvent]:
    return history.events(session, app_id)


def verify_application(session: Session, app_id: int) -> VerifyResult:
    """Check one application's chain, replay it, compare state, status and work items."""
    result = VerifyResult(app_id)
    chain = history.verify_chain(session, app_id)
    result.events = chain.events
    if not chain.ok:
        result.problems.append(f"哈希链断裂：第 {chain.broken_seq} 条记录，{chain.reason}")
        return result
    row = session.get(ApplicationRow, app_id)
    deployment = deployment_for(session, row.deployment_id)
    snapshot = session.execute(
        select(WorkflowState.state_json, WorkflowState.seq).where(WorkflowState.application_id == app_id)
    ).first()
    if snapshot is None:
        result.problems.append(str(Divergence(None, "缺少流程状态快照")))
        return result
    # The snapshot is the state after event `seq` (older databases: after the last event, seq 0 means
    # the same): capture the replay's canonical state at that event and compare the two.
    snapshot_seq = snapshot.seq or chain.events
    at_snapshot: list = []

    def capture(event, app):
        if event.seq == snapshot_seq:
            at_snapshot.append(canonical_state(app))

    replayed, divergence = replay(deployment, recorded_events(session, app_id), on_step=capture)
    if divergence:
        result.problems.append(str(divergence))
        return result
    if snapshot_seq > chain.events or not at_snapshot:
        result.problems.append(
            str(
                Divergence(
                    None, f"流程状态快照标注在第 {snapshot_seq} 条记录之后，但历史记录只有 {chain.events} 条"
                )
            )
        )
        return result
    try:
        stored = Application.restore(deployment, snapshot.state_json, replayed.clock)
    except Exception as exc:  # a tampered state may not even load
        result.problems.append(f"存储的流程状态无法读取：{exc}")
        return result
    diff = compare_canonical(at_snapshot[0], canonical_state(stored))
    if diff:
        result.problems.append(str(diff))
    head = session.execute(
        select(HistoryEvent.seq, HistoryEvent.hash)
        .where(HistoryEvent.application_id == app_id)
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    ).first()
    if head is not None and (row.head_seq, row.head_hash) != (head.seq, head.hash):
        result.problems.append(
            str(
                Divergence(
                    None, f"申请书记录的末条记录为第 {row.head_seq} 条，历史记录末条为第 {head.seq} 条"
                )
            )
        )
    status = replayed.status()
    for name, want, got in (
        ("状态", status.status, row.status),
        ("环节", status.stage, row.stage),
        ("等待机构", status.waiting_org, row.waiting_org_id),
        ("截止时间", status.deadline, row.deadline),
        ("责任机构", status.responsible_org, row.responsible_org_id),
    ):
        if want != got:
            result.problems.append(str(Divergence(None, f"申请书索引的{name}为 {got}，重放结果为 {want}")))
    items = sorted(
        (w.stage, w.org_id, w.deadline)
        for w in session.scalars(select(WorkItem).where(WorkItem.application_id == app_id))
    )
    expected = sorted((t.stage, t.org_id, t.deadline) for t in replayed.ready_tasks())
    if items != expected:
        result.problems.append(
            str(Divergence(None, f"待办索引与重放结果不一致：存储 {items}，重放 {expected}"))
        )
    return result


def all_application_ids(session: Session) -> list[int]:
    return list(session.scalars(select(ApplicationRow.id).order_by(ApplicationRow.id)))
