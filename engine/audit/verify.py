"""`audit verify`: the hash chain, then a replay compared with the stored state and indexes."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.events import RecordedEvent
from engine.runtime import Application
from engine.store import history
from engine.store.services import deployment_for
from engine.store.tables import ApplicationRow, WorkflowState, WorkItem

from .replay import Divergence, compare_state, replay


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
    if session.get(ApplicationRow, app_id) is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    result = VerifyResult(app_id)
    chain = history.verify_chain(session, app_id)
    result.events = chain.events
    if not chain.ok:
        result.problems.append(f"哈希链断裂：第 {chain.broken_seq} 条记录，{chain.reason}")
        return result
    row = session.get(ApplicationRow, app_id)
    deployment = deployment_for(session, row.deployment_id)
    replayed, divergence = replay(deployment, recorded_events(session, app_id))
    if divergence:
        result.problems.append(str(divergence))
        return result
    state_json = session.scalar(
        select(WorkflowState.state_json).where(WorkflowState.application_id == app_id)
    )
    try:
        stored = Application.restore(deployment, state_json, replayed.clock)
    except Exception as exc:  # a tampered state may not even load
        result.problems.append(f"存储的流程状态无法读取：{exc}")
        return result
    diff = compare_state(replayed, stored)
    if diff:
        result.problems.append(str(diff))
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
