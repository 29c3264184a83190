"""The HR offices' dashboard: summary queries over the index tables, scoped to the viewer's org.

A district HR office sees its district (applications whose tier 3 is the office), a municipal department its
units, a committee its series (applications it receives), the city HR office everything. Every number is a
GROUP BY over `application`, `work_item` or `history_event`; no workflow is ever loaded.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from calendars import TZ, default_calendar
from engine.accounts.models import Membership, Org, User
from engine.errors import FormInvalid, NotFound
from engine.store.tables import ENDED_STATUSES, ApplicationRow, DeploymentRow, HistoryEvent, WorkItem

DASHBOARD_ORG_TYPES = ("district_hr_office", "municipal_dept", "committee", "city_hr_office")
# The column of the application row naming "the org below" the viewer, per viewer type.
_BELOW = {
    "city_hr_office": "tier3_id",
    "committee": "tier3_id",
    "district_hr_office": "tier2_id",
    "municipal_dept": "unit_id",
}
ENDED_LABELS = {"expired": "逾期失效", "confirmed": "已完成现场确认", "not_recommended": "不予上报"}
MAX_AT_RISK_DAYS = 30


@dataclass(frozen=True)
class Scope:
    org_id: int
    org_name: str
    org_type: str

    def where(self) -> list:
        """The SQL conditions selecting the applications this org may count (none: the whole city)."""
        if self.org_type == "city_hr_office":
            return []
        if self.org_type == "committee":
            return [ApplicationRow.committee_id == self.org_id]
        return [ApplicationRow.tier3_id == self.org_id]

    @property
    def below(self):
        return getattr(ApplicationRow, _BELOW[self.org_type])


def scopes_of(session: Session, user_id: int) -> list[Scope]:
    """The dashboards a person may open: the orgs of dashboard types they are a member of."""
    rows = session.execute(
        select(Org.id, Org.name, Org.type)
        .join(Membership, Membership.org_id == Org.id)
        .where(Membership.user_id == user_id, Org.type.in_(DASHBOARD_ORG_TYPES), Org.status == "active")
        .distinct()
        .order_by(Org.id)
    )
    return [Scope(*r) for r in rows]


def scope_for(session: Session, user_id: int, org_id: int) -> Scope:
    """The viewer's scope at `org_id`; NotFound when they are not a member of it (never leak its existence)."""
    for scope in scopes_of(session, user_id):
        if scope.org_id == org_id:
            return scope
    raise NotFound(f"机构（编号 {org_id}）的统计页不存在", org_id=org_id)


@dataclass(frozen=True)
class Filters:
    campaign_id: str | None = None
    series: str | None = None

    def where(self) -> list:
        conds = []
        if self.campaign_id:
            conds.append(ApplicationRow.campaign_id == self.campaign_id)
        if self.series:
            conds.append(ApplicationRow.series == self.series)
        return conds


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


@dataclass(frozen=True)
class DayCount:
    day: date
    submissions: int
    acceptances: int


def per_day(
    session: Session, scope: Scope, filters: Filters, submit_stage: str, accept_stage: str | None
) -> list[DayCount]:
    """Submissions (completions of `submit_stage`) and acceptances (completions of `accept_stage` that left
    the application accepted) per local day, from the history; only those two stages' events are read."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        local_day = cast(HistoryEvent.at + func.make_interval(0, 0, 0, 0, 8), Date)
        status = cast(HistoryEvent.data_json, JSONB)["status"].astext
    else:
        local_day = func.date(HistoryEvent.at, "+8 hours")
        status = func.json_extract(HistoryEvent.data_json, "$.status")
    day = local_day.label("day")
    submitted = func.sum(case((HistoryEvent.stage == submit_stage, 1), else_=0))
    accepted = func.sum(case((status == "accepted", 1), else_=0))
    rows = session.execute(
        select(day, submitted, accepted)
        .join(ApplicationRow, ApplicationRow.id == HistoryEvent.application_id)
        .where(
            *scope.where(),
            *filters.where(),
            HistoryEvent.event_type == "completed",
            HistoryEvent.stage.in_([submit_stage, accept_stage or submit_stage]),
        )
        .group_by(day)
        .order_by(day)
    ).all()
    out = []
    for d, s, a in rows:
        d = d if isinstance(d, date) else date.fromisoformat(str(d))
        out.append(DayCount(d, int(s or 0), int(a or 0)))
    return [r for r in out if r.submissions or r.acceptances]


_PER_DAY_CACHE: OrderedDict = OrderedDict()
PER_DAY_CACHE_SECONDS = 600  # on the engine clock: a chart by the day may lag ten minutes


def per_day_cached(session: Session, scope: Scope, filters: Filters, submit_stage, accept_stage, now) -> list:
    """per_day, kept for ten minutes of engine time per database, org and filter: it reads every submission
    and acceptance event in scope (about two per application), the one part of the page that grows with
    the history rather than with the number of applications."""
    key = (
        str(session.get_bind().url),
        scope.org_id,
        filters,
        submit_stage,
        accept_stage,
        int(now.timestamp()) // PER_DAY_CACHE_SECONDS,
    )
    if key in _PER_DAY_CACHE:
        _PER_DAY_CACHE.move_to_end(key)
        return _PER_DAY_CACHE[key]
    value = per_day(session, scope, filters, submit_stage, accept_stage)
    _PER_DAY_CACHE[key] = value
    while len(_PER_DAY_CACHE) > 256:
        _PER_DAY_CACHE.popitem(last=False)
    return value


def campaigns(session: Session) -> list[str]:
    """Campaign ids deployed, newest first (the page's filter)."""
    rows = session.execute(
        select(DeploymentRow.campaign_id, func.max(DeploymentRow.created_at)).group_by(
            DeploymentRow.campaign_id
        )
    ).all()
    return [c for c, _ in sorted(rows, key=lambda r: r[1], reverse=True)]


def local_today(now: datetime) -> date:
    return now.astimezone(TZ).date()


@dataclass
class Page:
    scope: Scope
    filters: Filters
    campaign: object | None  # the engine Campaign of the selected (else latest) campaign
    campaigns: list[str]
    counts: CountsTable
    at_risk: list[AtRisk]
    at_risk_days: int
    at_risk_total: int
    lapses: list[LapseRow]
    per_day: list[DayCount]
    windows: list[tuple[str, date, date]]  # (label, opens, closes) the per-day chart is drawn against


def _chart_stages(deployment) -> tuple[str | None, str | None, list[tuple[str, date, date]]]:
    """The submission stage, the acceptance stage (the approval path's stage before the onsite visit, else
    its last) and their windows, which the per-day chart is drawn against."""
    if deployment is None:
        return None, None, []
    model, campaign = deployment.model, deployment.campaign
    order = list(model.order)
    accept = None
    if campaign.onsite_stage in order and order.index(campaign.onsite_stage) > 0:
        accept = order[order.index(campaign.onsite_stage) - 1]
    elif len(order) > 1:
        accept = order[-1]
    picked = [s for s in (model.submission, accept) if s and s in campaign.stages]
    windows = [
        (campaign.stages[s].label, campaign.stages[s].opens, campaign.stages[s].closes) for s in picked
    ]
    return model.submission, accept, windows


PARTS = ("counts", "at_risk", "lapses", "per_day")


def page(
    session: Session,
    user_id: int,
    org_id: int,
    now: datetime,
    *,
    campaign_id=None,
    series=None,
    days: int = 3,
    parts=PARTS,
    at_risk_limit: int = 200,
) -> Page:
    """What the dashboard shows for one viewer and org (`parts` of it: an export needs one table). Raises
    NotFound (not their org) and FormInvalid (an unknown campaign or series, a day count out of range)."""
    scope = scope_for(session, user_id, org_id)
    known = campaigns(session)
    if campaign_id and campaign_id not in known:
        raise FormInvalid({"campaign": "申报批次：没有这个批次"})
    deployment = _deployment(session, campaign_id)
    campaign = deployment.campaign if deployment is not None else None
    if series and (campaign is None or series not in {s.code for s in campaign.series}):
        raise FormInvalid({"series": "申报系列：本批次没有这个系列"})
    filters = Filters(campaign_id or None, series or None)
    submit_stage, accept_stage, windows = _chart_stages(deployment)
    labels = deployment.model.labels() if deployment is not None else {}
    order = list(labels) + list(ENDED_LABELS)
    empty = CountsTable([], [], {}, 0)
    risky = at_risk(session, scope, filters, now, days, at_risk_limit, labels) if "at_risk" in parts else []
    return Page(
        scope,
        filters,
        campaign,
        known,
        counts(session, scope, filters, order, labels) if "counts" in parts else empty,
        risky,
        days,
        at_risk_count(session, scope, filters, now, days) if "at_risk" in parts else 0,
        lapses(session, scope, filters, labels) if "lapses" in parts else [],
        per_day_cached(session, scope, filters, submit_stage, accept_stage, now)
        if submit_stage and "per_day" in parts
        else [],
        windows,
    )
