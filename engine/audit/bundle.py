"""Offline audit bundles: one JSON file with the pinned sources, the events and their hashes.

Format `zhicheng-audit-bundle/1` (documented in README): `application` (summary of the stored row),
`deployment` (`id` = content hash of `sources`, `sources` = relative name -> text of every BPMN, form and
campaign file), `events` (seq, at, actor_id, org_id, event_type, stage, data, prev_hash, hash),
`state` (the stored workflow state JSON), `versions` (SpiffWorkflow, holidays, zhicheng).
`verify_bundle` needs no database: it rebuilds the deployment, checks its hash and the event chain,
replays the events and compares the result with the stored state.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deployment import build_deployment, content_hash
from engine.errors import NotFound, ZhichengError
from engine.events import RecordedEvent
from engine.runtime import Application
from engine.store import history
from engine.store.tables import ApplicationRow, DeploymentRow, HistoryEvent, WorkflowState

from .replay import canonical_state, compare_canonical, replay

FORMAT = "zhicheng-audit-bundle/1"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def export_bundle(session: Session, app_id: int) -> dict:
    """Everything needed to verify one application offline. Raises NotFound."""
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在")
    deployment = session.get(DeploymentRow, row.deployment_id)
    events = session.scalars(
        select(HistoryEvent).where(HistoryEvent.application_id == app_id).order_by(HistoryEvent.seq)
    )
    snapshot = session.execute(
        select(WorkflowState.state_json, WorkflowState.seq).where(WorkflowState.application_id == app_id)
    ).first()
    return {
        "format": FORMAT,
        "application": {
            "id": row.id,
            "campaign_id": row.campaign_id,
            "status": row.status,
            "stage": row.stage,
            "applicant_id": row.applicant_id,
            "unit_id": row.unit_id,
        },
        "deployment": {"id": deployment.id, "sources": json.loads(deployment.sources_json)},
        "events": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor_id": e.actor_id,
                "org_id": e.org_id,
                "event_type": e.event_type,
                "stage": e.stage,
                "data": json.loads(e.data_json),
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in events
        ],
        "state": snapshot.state_json if snapshot else None,
        "state_seq": snapshot.seq if snapshot else None,  # the event the state snapshot follows
        "versions": {
            "spiffworkflow": _version("SpiffWorkflow"),
            "holidays": _version("holidays"),
            "zhicheng": _version("zhicheng"),
        },
    }


def verify_bundle(bundle: dict) -> list[str]:
    """Problems found in a bundle (empty when it verifies)."""
    if bundle.get("format") != FORMAT:
        return [f"不是审计包（format 应为 {FORMAT}）"]
    problems = []
    sources = bundle["deployment"]["sources"]
    if content_hash(sources) != bundle["deployment"]["id"]:
        problems.append("部署文件的内容哈希与部署编号不符（BPMN、表单或活动文件被改动）")
    app_id = bundle["application"]["id"]
    prev = history.GENESIS
    events = []
    for expected_seq, e in enumerate(bundle["events"], start=1):
        at = datetime.fromisoformat(e["at"])
        data_json = history.canonical_json(e["data"])
        recomputed = history.event_hash(
            application_id=app_id,
            seq=e["seq"],
            at=at,
            actor_id=e["actor_id"],
            org_id=e["org_id"],
            event_type=e["event_type"],
            stage=e["stage"],
            data_json=data_json,
            prev_hash=e["prev_hash"],
        )
        if e["seq"] != expected_seq or e["prev_hash"] != prev or recomputed != e["hash"]:
            problems.append(f"哈希链断裂：第 {e['seq']} 条记录")
            return problems
        prev = e["hash"]
        events.append(
            RecordedEvent(
                e["seq"], at, e["actor_id"], e["org_id"], e["event_type"], e["stage"], e["data"], e["hash"]
            )
        )
    try:
        deployment = build_deployment(sources)
    except ZhichengError as exc:
        return [*problems, f"部署文件无法解析：{exc}"]
    # the state is a snapshot after event `state_seq` (bundles written before snapshots: the last event)
    state_seq = bundle.get("state_seq") or len(events)
    at_snapshot: list = []

    def capture(event, app):
        if event.seq == state_seq:
            at_snapshot.append(canonical_state(app))

    replayed, divergence = replay(deployment, events, on_step=capture)
    if divergence:
        return [*problems, str(divergence)]
    if not at_snapshot:
        return [*problems, f"流程状态快照标注在第 {state_seq} 条记录之后，但历史记录只有 {len(events)} 条"]
    stored = Application.restore(deployment, bundle["state"], replayed.clock)
    diff = compare_canonical(at_snapshot[0], canonical_state(stored))
    if diff:
        problems.append(str(diff))
    return problems
