"""The auditor's read side: search within a scope, an application's timeline with data diffs, replay steps."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from calendars import TZ
from engine import labels
from engine.accounts.models import Org, User
from engine.errors import NotFound, NotPermitted
from engine.store.queries import STATUS_LABELS, check_scope, file_names, stage_label
from engine.store.services import deployment_for
from engine.store.tables import ApplicationOrg, ApplicationRow

from . import readable
from .diagram import TravelledPath, bpmn_source, path_of, render_svg
from .replay import replay
from .verify import recorded_events

EVENT_LABELS = {
    "started": "创建申请书",
    "completed": "办理",
    "timer_fired": "定时器触发",
    "facts_changed": "更正申请书信息",
}
# Bookkeeping fields the engine keeps in the process data; a diff shows them only when asked.
_NOISE = {"reviews"}


@dataclass(frozen=True)
class AuditRow:
    id: int
    applicant_name: str
    status: str
    status_label: str
    stage: str | None
    stage_label: str
    unit_name: str
    created_at: datetime
    deployment_id: str


@dataclass
class TimelineEntry:
    seq: int
    at: datetime
    event_type: str
    label: str
    stage: str | None
    stage_label: str
    actor_name: str
    org_name: str
    decision: str | None
    opinion: str | None
    reason: str | None
    status_after: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (field name, before, after) in words
    attachments: list[str] = field(default_factory=list)  # file names
    hash: str = ""


@dataclass
class ReplayStep:
    step: int
    total: int
    entry: TimelineEntry
    status: str
    stage: str | None
    data: list[tuple[str, str]]  # (field name, value) in words
    svg: str
    path: TravelledPath = TravelledPath()  # what the bpmn-js viewer marks on the same step


def _require_auditor(session: Session, viewer_id: int) -> User:
    user = session.get(User, viewer_id)
    if user is None or not (user.is_auditor or user.is_operator):
        raise NotPermitted("只有审计人员可以使用审计功能")
    return user


def _scope_ids(session: Session, root_id: int) -> set[int]:
    """The scope org and everything below it (a district: its HR office and every org under it)."""
    ids, frontier = {root_id}, {root_id}
    while frontier:
        frontier = set(session.scalars(select(Org.id).where(Org.parent_id.in_(frontier)))) - ids
        ids |= frontier
    return ids


def search(
    session: Session,
    viewer_id: int,
    *,
    applicant: str | None = None,
    org_id: int | None = None,
    status: str | None = None,
    stage: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 200,
) -> list[AuditRow]:
    """Applications in the auditor's scope matching the filters, newest first. Raises NotPermitted."""
    user = _require_auditor(session, viewer_id)
    q = select(ApplicationRow, Org.name).join(Org, Org.id == ApplicationRow.unit_id)
    if user.auditor_scope_org_id is not None and not user.is_operator:
        scope = _scope_ids(session, user.auditor_scope_org_id)
        q = q.where(
            or_(
                ApplicationRow.unit_id.in_(scope),
                ApplicationRow.tier2_id.in_(scope),
                ApplicationRow.tier3_id.in_(scope),
                ApplicationRow.id.in_(
                    select(ApplicationOrg.application_id).where(ApplicationOrg.org_id.in_(scope))
                ),
            )
        )
    if applicant:
        q = q.where(ApplicationRow.applicant_name.contains(applicant.strip()))
    if org_id:
        q = q.where(
            or_(
                ApplicationRow.unit_id == org_id,
                ApplicationRow.tier2_id == org_id,
                ApplicationRow.tier3_id == org_id,
                ApplicationRow.committee_id == org_id,
                ApplicationRow.id.in_(
                    select(ApplicationOrg.application_id).where(ApplicationOrg.org_id == org_id)
                ),
            )
        )
    if status:
        q = q.where(ApplicationRow.status == status)
    if stage:
        q = q.where(ApplicationRow.stage == stage)
    if date_from:
        q = q.where(ApplicationRow.created_at >= datetime.combine(date_from, datetime.min.time(), TZ))
    if date_to:
        q = q.where(
            ApplicationRow.created_at < datetime.combine(date_to + timedelta(days=1), datetime.min.time(), TZ)
        )
    rows = session.execute(q.order_by(ApplicationRow.id.desc()).limit(limit)).all()
    return [
        AuditRow(
            r.id,
            r.applicant_name,
            r.status,
            STATUS_LABELS.get(r.status, r.status),
            r.stage,
            stage_label(session, r.deployment_id, r.stage),
            unit,
            r.created_at,
            r.deployment_id,
        )
        for r, unit in rows
    ]


def _diff(deployment, before: dict, after: dict, names: dict[str, str]) -> list[tuple[str, str, str]]:
    """What one step changed, in words: (field name, before, after)."""
    keys = sorted((set(before) | set(after)) - _NOISE)
    return [
        (
            readable.field_name(deployment, k),
            readable.value_text(deployment, k, before.get(k), names),
            readable.value_text(deployment, k, after.get(k), names),
        )
        for k in keys
        if before.get(k) != after.get(k)
    ]


def _attachments(data: dict) -> list[str]:
    found = []

    def walk(v):
        if isinstance(v, str) and v.startswith("sha256:"):
            found.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(data)
    return found


def _names(session: Session, ids: set) -> tuple[dict, dict]:
    ids = {i for i in ids if i}
    users = (
        dict(session.execute(select(User.id, User.real_name).where(User.id.in_(ids))).all()) if ids else {}
    )
    orgs = dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(ids))).all()) if ids else {}
    return users, orgs


def _replayed(session: Session, app_id: int, viewer_id: int):
    """Replay the whole history once, keeping each step's status, data and diagram positions."""
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在")
    _require_auditor(session, viewer_id)
    check_scope(session, row, viewer_id)
    deployment = deployment_for(session, row.deployment_id)
    events = recorded_events(session, app_id)
    snapshots = []

    def keep(event, app):
        snapshots.append((event, app.status(), copy.deepcopy(app.data), path_of(app)))

    replay(deployment, events, on_step=keep)
    users, orgs = _names(session, {e.actor_id for e in events} | {e.org_id for e in events})
    names = file_names(session, row.applicant_id, {ref[7:] for e in events for ref in _attachments(e.data)})
    entries, before = [], {}
    for event, status, data, _ in snapshots:
        form = event.data.get("form", {}) if event.event_type == "completed" else {}
        entries.append(
            TimelineEntry(
                event.seq,
                event.at,
                event.event_type,
                labels.timer_label(deployment, event.stage)
                if event.event_type == "timer_fired"
                else EVENT_LABELS.get(event.event_type, "系统记录"),
                event.stage,
                deployment.model.label(event.stage) if event.event_type != "timer_fired" else "",
                users.get(event.actor_id, "系统" if event.actor_id is None else str(event.actor_id)),
                orgs.get(event.org_id, ""),
                labels.decision_label(deployment, event.stage, form.get("decision")),
                form.get("opinion"),
                form.get("reason"),
                STATUS_LABELS.get(status.status, "其他"),
                _diff(deployment, before, data, names),
                [names.get(ref[7:]) or "附件" for ref in _attachments(form)],
                event.hash,
            )
        )
        before = data
    return row, deployment, entries, snapshots


def timeline(session: Session, app_id: int, viewer_id: int) -> tuple[ApplicationRow, list[TimelineEntry]]:
    """Every event with its engine-clock time, actor, org, decision, opinion, data diff and attachments."""
    row, _, entries, _ = _replayed(session, app_id, viewer_id)
    return row, entries


def replay_step(session: Session, app_id: int, viewer_id: int, step: int) -> ReplayStep:
    """The application as it stood after event `step` (1-based): status, data and the diagram."""
    row, deployment, entries, snapshots = _replayed(session, app_id, viewer_id)
    names = file_names(
        session, row.applicant_id, {ref[7:] for _, _, data, _ in snapshots for ref in _attachments(data)}
    )
    step = max(1, min(step, len(snapshots)))
    event, status, data, path = snapshots[step - 1]
    svg = render_svg(
        bpmn_source(deployment),
        current=path.current,
        done=path.done,
        taken=path.flows,
        title=f"第 {step} 步后的流程位置",
    )
    return ReplayStep(
        step,
        len(snapshots),
        entries[step - 1],
        STATUS_LABELS.get(status.status, status.status),
        status.stage,
        [
            (readable.field_name(deployment, k), readable.value_text(deployment, k, v, names))
            for k, v in sorted(data.items())
            if k not in _NOISE
        ],
        svg,
        path,
    )


def _visible_row(session: Session, app_id: int, viewer_id: int) -> ApplicationRow:
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在")
    check_scope(session, row, viewer_id)
    return row


def diagram_for(session: Session, clock, app_id: int, viewer_id: int) -> str:
    """The process diagram of one application, with where it is and where it has been (scope-checked)."""
    from engine.store.services import load

    row = _visible_row(session, app_id, viewer_id)
    _, app = load(session, app_id, clock)
    path = path_of(app)
    return render_svg(
        bpmn_source(app.deployment),
        current=path.current,
        done=path.done,
        taken=path.flows,
        title=f"申请书 {app_id} 的流程位置：{app.model.label(row.stage)}",
    )


def diagram_path(session: Session, clock, app_id: int, viewer_id: int) -> TravelledPath:
    """Where one application is and the path it took, for the bpmn-js viewer (scope-checked)."""
    from engine.store.services import load

    _visible_row(session, app_id, viewer_id)
    _, app = load(session, app_id, clock)
    return path_of(app)


def diagram_bpmn(session: Session, app_id: int, viewer_id: int) -> str:
    """The BPMN XML of the deployment the application is pinned to (scope-checked), for the viewer."""
    row = _visible_row(session, app_id, viewer_id)
    return bpmn_source(deployment_for(session, row.deployment_id))
