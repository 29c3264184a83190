"""The dashboard's tables: counts per stage × org below, the applications behind a number, at-risk tasks,
the lapse report. Each is one summary query over the index tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from calendars import default_calendar
from engine.accounts.models import Org, User
from engine.errors import FormInvalid
from engine.store.tables import ENDED_STATUSES, ApplicationRow, DeploymentRow, WorkItem

from .scope import Filters, Scope

ENDED_LABELS = {"expired": "逾期失效", "confirmed": "已完成现场确认", "not_recommended": "不予上报"}
MAX_AT_RISK_DAYS = 30


def column_key():
    """An application's column in the counts table: its status when ended, else its current stage."""
    return case(
        (ApplicationRow.status.in_(ENDED_STATUSES), ApplicationRow.status), else_=ApplicationRow.stage
    )


def column_label(key: str | None, labels: dict[str, str]) -> str:
    """A column's Chinese name: an end status, else the stage's label from the BPMN (engine.stages)."""
    return ENDED_LABELS.get(key or "") or labels.get(key or "", key or "未开始")


def _deployment(session: Session, campaign_id: str | None = None):
    """The current (else latest) deployment of a campaign, or of any campaign; None before the first deploy."""
    from engine.store.services import deployment_for  # the store's cache of built deployments

    query = select(DeploymentRow.id).order_by(
        DeploymentRow.is_current.desc(), DeploymentRow.created_at.desc()
    )
    if campaign_id:
        query = query.where(DeploymentRow.campaign_id == campaign_id)
    dep_id = session.scalar(query.limit(1))
    return deployment_for(session, dep_id) if dep_id else None


def stage_labels(session: Session, campaign_id: str | None = None) -> dict[str, str]:
    """Stage and wait labels of the campaign's BPMN (the latest deployment's when no campaign is chosen)."""
    deployment = _deployment(session, campaign_id)
    return deployment.model.labels() if deployment is not None else {}


@dataclass
class CountsTable:
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[tuple[int | None, str, dict[str, int], int]]  # (org id, org name, {column: n}, total)
    totals: dict[str, int]
    total: int


def counts(
    session: Session, scope: Scope, filters: Filters, column_order: list[str], labels: dict | None = None
) -> CountsTable:
    """Applications per stage (or end) × org below the viewer, one GROUP BY."""
    # Grouped by the raw columns so the covering indexes serve it; the column key is made here.
    rows = session.execute(
        select(scope.below, ApplicationRow.status, ApplicationRow.stage, func.count())
        .where(*scope.where(), *filters.where())
        .group_by(scope.below, ApplicationRow.status, ApplicationRow.stage)
    ).all()
    per_org: dict[int | None, dict[str, int]] = {}
    for org_id, status, stage, n in rows:
        k = (status if status in ENDED_STATUSES else stage) or ""
        cells = per_org.setdefault(org_id, {})
        cells[k] = cells.get(k, 0) + n
    seen = {k for cells in per_org.values() for k in cells}
    order = [k for k in column_order if k in seen] + sorted(seen - set(column_order))
    names = _org_names(session, {o for o in per_org if o is not None})
    table_rows = sorted(
        ((o, names.get(o, "（无）"), cells, sum(cells.values())) for o, cells in per_org.items()),
        key=lambda r: (r[1], r[0] or 0),
    )
    totals = {k: sum(c.get(k, 0) for c in per_org.values()) for k in order}
    labels = stage_labels(session) if labels is None else labels
    return CountsTable(
        [(k, column_label(k, labels)) for k in order], table_rows, totals, sum(totals.values())
    )


def _org_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(ids))).all())


@dataclass(frozen=True)
class AppLine:
    id: int
    applicant_name: str
    series: str | None
    campaign_id: str
    status: str
    stage: str | None
    stage_label: str
    deadline: datetime | None
    org_name: str  # the org below the viewer


def applications(
    session: Session,
    scope: Scope,
    filters: Filters,
    *,
    column: str | None,
    org_id: int | None,
    limit: int = 500,
    labels: dict | None = None,
) -> list[AppLine]:
    """The applications behind one number of the counts table (org None = every org)."""
    below = aliased(Org)
    query = (
        select(ApplicationRow, below.name)
        .outerjoin(below, below.id == scope.below)
        .where(*scope.where(), *filters.where())
    )
    if column:
        query = query.where(column_key() == column)
    if org_id is not None:
        query = query.where(scope.below == org_id)
    labels = stage_labels(session, filters.campaign_id) if labels is None else labels
    out = []
    for row, org_name in session.execute(query.order_by(ApplicationRow.id).limit(limit)):
        out.append(
            AppLine(
                row.id,
                row.applicant_name,
                row.series,
                row.campaign_id,
                row.status,
                row.stage,
                column_label(row.status if row.status in ENDED_STATUSES else row.stage, labels),
                row.deadline,
                org_name or "（无）",
            )
        )
    return out


@dataclass(frozen=True)
class AtRisk:
    application_id: int
    applicant_name: str
    series: str | None
    stage: str
    stage_label: str
    deadline: datetime
    holder: str
    contact_person: str | None
    contact_phone: str | None


def _at_risk_where(scope: Scope, filters: Filters, now: datetime, working_days: int) -> list:
    if isinstance(working_days, bool) or not 0 <= working_days <= MAX_AT_RISK_DAYS:
        raise FormInvalid({"days": f"天数：请填写 0 到 {MAX_AT_RISK_DAYS} 之间的工作日数"})
    cal = default_calendar()
    today = cal.local_date(now)
    last = cal.nth_working_day_after(today, working_days) if working_days else today
    return [
        *scope.where(),
        *filters.where(),
        WorkItem.deadline > now,
        WorkItem.deadline <= cal.end_of_day(last),
    ]


def at_risk_count(session: Session, scope: Scope, filters: Filters, now: datetime, working_days: int) -> int:
    """How many open tasks are due within `working_days` working days."""
    return session.scalar(
        select(func.count())
        .select_from(WorkItem)
        .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
        .where(*_at_risk_where(scope, filters, now, working_days))
    )


def at_risk(
    session: Session,
    scope: Scope,
    filters: Filters,
    now: datetime,
    working_days: int,
    limit: int = 500,
    labels: dict | None = None,
) -> list[AtRisk]:
    """Open tasks due within `working_days` working days, the most pressing (then longest waiting) first."""
    labels = stage_labels(session, filters.campaign_id) if labels is None else labels
    holder = aliased(Org)
    applicant = aliased(User)
    rows = session.execute(
        select(
            WorkItem.application_id,
            ApplicationRow.applicant_name,
            ApplicationRow.series,
            WorkItem.stage,
            WorkItem.deadline,
            holder.name,
            holder.contact_person,
            holder.contact_phone,
            applicant.mobile,
        )
        .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
        .outerjoin(holder, holder.id == WorkItem.org_id)
        .join(applicant, applicant.id == ApplicationRow.applicant_id)
        .where(*_at_risk_where(scope, filters, now, working_days))
        .order_by(WorkItem.deadline, ApplicationRow.updated_at, WorkItem.application_id)
        .limit(limit)
    )
    out = []
    for app_id, name, series, stage, deadline, org_name, person, phone, mobile in rows:
        if org_name is None:  # the applicant holds it
            org_name, person, phone = "申报人本人", name, mobile
        out.append(
            AtRisk(
                app_id, name, series, stage, column_label(stage, labels), deadline, org_name, person, phone
            )
        )
    return out


@dataclass(frozen=True)
class LapseRow:
    org_id: int | None
    org_name: str
    contact_person: str | None
    contact_phone: str | None
    stage: str | None
    stage_label: str
    count: int


def lapses(session: Session, scope: Scope, filters: Filters, labels: dict | None = None) -> list[LapseRow]:
    """Lapsed applications per responsible org and lapsed stage (the applicant's own when no org)."""
    labels = stage_labels(session, filters.campaign_id) if labels is None else labels
    responsible = aliased(Org)
    rows = session.execute(
        select(
            ApplicationRow.responsible_org_id,
            responsible.name,
            responsible.contact_person,
            responsible.contact_phone,
            ApplicationRow.stage,
            func.count(),
        )
        .outerjoin(responsible, responsible.id == ApplicationRow.responsible_org_id)
        .where(*scope.where(), *filters.where(), ApplicationRow.status == "expired")
        .group_by(
            ApplicationRow.responsible_org_id,
            responsible.name,
            responsible.contact_person,
            responsible.contact_phone,
            ApplicationRow.stage,
        )
    ).all()
    out = [
        LapseRow(org_id, name or "申报人本人", person, phone, stage, column_label(stage, labels), n)
        for org_id, name, person, phone, stage, n in rows
    ]
    return sorted(out, key=lambda r: (-r.count, r.org_name, r.stage or ""))
