"""Read side: inboxes per org, a unit's 公示中 list, the application view with its scope checks, an applicant's
list, actors, deployments.

Nothing here deserializes a workflow: pages read the application row, work items and history only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, object_session

from calendars import default_calendar
from engine import labels
from engine.accounts.models import Membership, Org, User
from engine.clock import Clock
from engine.errors import FormInvalid, NotFound
from engine.runtime import Actor

from . import history
from .tables import ApplicationOrg, ApplicationRow, Attachment, AttachmentName, DeploymentRow, WorkItem

INBOX_VIEWS = ("all", "actionable", "not_open", "due_soon", "lapsed")
# Soonest deadline first: the order of the index work_item (org_id, deadline, actionable_from, id), so a page is a
# range of it at any size.
INBOX_ORDER = (WorkItem.deadline, WorkItem.actionable_from, WorkItem.id)
STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "已提交",
    "in_review": "审核中",
    "public_notice": "公示中",
    "returned": "退回补正",
    "accepted": "已受理",
    "confirmed": "已完成现场确认",
    "expired": "逾期失效",
    "not_recommended": "不予上报",
}


@dataclass(frozen=True)
class OrgContact:
    id: int
    name: str
    contact_person: str | None
    contact_phone: str | None


@dataclass(frozen=True)
class WorkItemView:
    application_id: int
    applicant_name: str
    series: str | None
    title_sought: str | None
    stage: str | None
    stage_label: str
    status: str
    org_id: int | None
    actionable_from: datetime | None
    deadline: datetime | None
    version: int
    unit_id: int | None = None
    campaign_id: str = ""  # inboxes mix campaigns: each row says its own


@dataclass
class ApplicationView:
    id: int
    applicant_id: int
    applicant_name: str
    campaign_id: str
    deployment_id: str
    status: str
    status_label: str
    stage: str | None
    stage_label: str
    waiting_org: OrgContact | None
    responsible_org: OrgContact | None
    deadline: datetime | None
    actionable_from: datetime | None
    version: int
    chain: dict
    ready: list[dict] = field(
        default_factory=list
    )  # open work items: stage, org_id, actionable_from, deadline
    reviews: list[dict] = field(default_factory=list)  # every opinion and return reason, in order
    declaration: dict = field(default_factory=dict)  # the latest submitted declaration
    timeline: list[history.EventView] = field(default_factory=list)
    events: list[tuple[datetime, str]] = field(default_factory=list)  # the timeline in words, for pages
    # from the stage model, so pages name no stage id: the applicant's correction stages, and the stages
    # whose approval starts a public notice (the unit may then print the notice form)
    corrections: tuple = ()
    notice_after: tuple = ()


def actor_for(session: Session, user_id: int) -> Actor:
    """The Actor (memberships, name) of a user. Raises NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户（编号 {user_id}）不存在", user_id=user_id)
    members = session.execute(select(Membership.org_id, Membership.role).where(Membership.user_id == user_id))
    return Actor(user.id, frozenset((org, role) for org, role in members), user.real_name)


def check_scope(
    session: Session, row: ApplicationRow, user_id: int, memberships: set[int] | None = None
) -> None:
    """Raise NotFound unless the user may see this application (DESIGN: never leak its existence).

    Allowed: the applicant; members of a chain org that holds it now or acted on it before; operators; auditors
    city-wide or scoped to an org of its chain.
    """
    if row.applicant_id == user_id:
        return
    chain = {row.unit_id, row.tier2_id, row.tier3_id, row.committee_id} - {None}
    if memberships is None:
        memberships = set(session.scalars(select(Membership.org_id).where(Membership.user_id == user_id)))
    mine = memberships & chain
    if mine and row.waiting_org_id in mine:
        return
    chain |= set(extra_chain(session, row.id).values())  # tiers a lane names by org type
    mine = memberships & chain
    if mine:
        if row.waiting_org_id in mine:
            return
        acted = session.scalar(
            select(history.HistoryEvent.id)
            .where(
                history.HistoryEvent.application_id == row.id,
                history.HistoryEvent.org_id.in_(mine),
                history.HistoryEvent.event_type == "completed",
            )
            .limit(1)
        )
        if acted is not None:
            return
    user = session.execute(  # Core, not session.get: the store's handle may be a Connection
        select(User.is_operator, User.is_auditor, User.auditor_scope_org_id).where(User.id == user_id)
    ).first()
    if user is not None and (
        user.is_operator
        or (user.is_auditor and (user.auditor_scope_org_id is None or user.auditor_scope_org_id in chain))
    ):
        return
    raise NotFound(f"申请书（编号 {row.id}）不存在", application_id=row.id)


def extra_chain(session: Session, app_id: int) -> dict[str, int]:
    """{tier: org id} of the chain tiers outside the fixed columns (lanes naming an org type)."""
    rows = session.execute(
        select(ApplicationOrg.tier, ApplicationOrg.org_id).where(ApplicationOrg.application_id == app_id)
    )
    return {tier: org_id for tier, org_id in rows}


def full_chain(session: Session, row) -> dict:
    """The application's whole review chain, {tier: org id}: the fixed columns and the extra tiers."""
    return {
        "unit": row.unit_id,
        "tier2": row.tier2_id,
        "tier3": row.tier3_id,
        "committee": row.committee_id,
        **extra_chain(session, row.id),
    }


def stage_model(session: Session, deployment_id: str):
    """The stage model of a stored deployment (labels, applicant stages) — the BPMN it was pinned to."""
    from .services import deployment_for  # services builds views from here: import at call time

    return deployment_for(session, deployment_id).model


def stage_label(session: Session | None, deployment_id: str, stage: str | None) -> str:
    """A stage's Chinese label as the application's own deployment names it."""
    if not stage:
        return ""
    try:
        return stage_model(session, deployment_id).label(stage)
    except NotFound:
        return stage


def _contact(session: Session, org_id: int | None) -> OrgContact | None:
    org = session.get(Org, org_id) if org_id else None
    return OrgContact(org.id, org.name, org.contact_person, org.contact_phone) if org else None


def build_view(session: Session, app_id: int) -> ApplicationView:
    """The application as a page shows it (no scope check: see application_view). Raises NotFound."""
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    timeline = history.events(session, app_id)
    from .services import deployment_for  # services builds views from here: import at call time

    deployment = deployment_for(session, row.deployment_id)
    model = deployment.model
    reviews, declaration = [], {}
    for ev in timeline:
        if ev.event_type != "completed":
            continue
        form = ev.data.get("form", {})
        if ev.stage in model.stages and model.stages[ev.stage].by_applicant:
            declaration = form
        else:
            reviews.append(
                {
                    "stage": ev.stage,
                    "stage_label": model.label(ev.stage),
                    "decision": form.get("decision"),
                    "decision_label": labels.decision_label(deployment, ev.stage, form.get("decision")),
                    "opinion": form.get("opinion"),
                    "reason": form.get("reason"),
                    "org_id": ev.org_id,
                    "actor_id": ev.actor_id,
                    "actor_name": ev.data.get("actor_name", ""),
                    "at": ev.at,
                }
            )
    ready = [
        {
            "stage": w.stage,
            "tier": w.tier,
            "org_id": w.org_id,
            "actionable_from": w.actionable_from,
            "deadline": w.deadline,
        }
        for w in session.scalars(select(WorkItem).where(WorkItem.application_id == app_id))
    ]
    return ApplicationView(
        row.id,
        row.applicant_id,
        row.applicant_name,
        row.campaign_id,
        row.deployment_id,
        row.status,
        STATUS_LABELS.get(row.status, row.status),
        row.stage,
        model.label(row.stage),
        _contact(session, row.waiting_org_id),
        _contact(session, row.responsible_org_id),
        row.deadline,
        row.actionable_from,
        row.version,
        full_chain(session, row),
        ready,
        reviews,
        declaration,
        timeline,
        [(ev.at, labels.event_text(deployment, ev.event_type, ev.stage, ev.data)) for ev in timeline],
        model.corrections,
        tuple(w.after_stage for w in model.waits.values() if w.status == "public_notice" and w.after_stage),
    )


def application_view(session: Session, app_id: int, viewer: int) -> ApplicationView:
    """What user `viewer` sees of an application. Raises NotFound when it is absent or outside their scope."""
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    check_scope(session, row, viewer)
    return build_view(session, app_id)


def applications_for_applicant(session: Session, user_id: int) -> list[WorkItemView]:
    """An applicant's own applications, newest first."""
    rows = session.scalars(
        select(ApplicationRow)
        .where(ApplicationRow.applicant_id == user_id)
        .order_by(ApplicationRow.id.desc())
    )
    return [_item(r, r.stage, r.waiting_org_id, r.actionable_from, r.deadline) for r in rows]


def _item(row: ApplicationRow, stage, org_id, actionable_from, deadline) -> WorkItemView:
    return WorkItemView(
        row.id,
        row.applicant_name,
        row.series,
        row.title_sought,
        stage,
        stage_label(object_session(row), row.deployment_id, stage),
        row.status,
        org_id,
        actionable_from,
        deadline,
        row.version,
        row.unit_id,
        row.campaign_id,
    )


def _due_soon_limit(now: datetime, working_days: int) -> datetime:
    cal = default_calendar()
    return (
        cal.end_of_day(cal.nth_working_day_after(cal.local_date(now), working_days)) if working_days else now
    )


def _filters(view: str, now: datetime, due_within_working_days: int):
    open_now = and_(
        or_(WorkItem.actionable_from.is_(None), WorkItem.actionable_from <= now),
        or_(WorkItem.deadline.is_(None), WorkItem.deadline > now),
    )
    if view == "all":
        return []
    if view == "actionable":
        return [open_now]
    if view == "not_open":
        return [WorkItem.actionable_from > now]
    if view == "due_soon":
        return [open_now, WorkItem.deadline <= _due_soon_limit(now, due_within_working_days)]
    raise FormInvalid({"view": f"列表：未知的视图 {view}（可用：{'、'.join(INBOX_VIEWS)}）"})


def inbox(
    session: Session,
    clock: Clock,
    org_id: int,
    *,
    view: str = "all",
    due_within_working_days: int = 3,
    page: int = 1,
    per_page: int = 50,
) -> list[WorkItemView]:
    """One org's work, soonest deadline first; `lapsed` lists applications that expired at this org."""
    now = clock.now()
    offset = max(page - 1, 0) * per_page
    if view == "lapsed":
        rows = session.scalars(
            select(ApplicationRow)
            .where(ApplicationRow.responsible_org_id == org_id, ApplicationRow.status == "expired")
            .order_by(ApplicationRow.updated_at.desc(), ApplicationRow.id)
            .offset(offset)
            .limit(per_page)
        )
        return [_item(r, r.stage, org_id, None, None) for r in rows]
    query = (
        select(WorkItem, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
        .where(WorkItem.org_id == org_id, *_filters(view, now, due_within_working_days))
        .order_by(*INBOX_ORDER)
        .offset(offset)
        .limit(per_page)
    )
    return [_item(app, w.stage, w.org_id, w.actionable_from, w.deadline) for w, app in session.execute(query)]


def _in_view(view: str, now: datetime, soon: datetime | None, actionable_from, deadline) -> bool:
    """`_filters` as a Python predicate on one (actionable_from, deadline) pair, with SQL's NULL semantics
    (a NULL never compares true); `soon` is `_due_soon_limit`. Tests hold the two equal on every view."""
    open_now = (actionable_from is None or actionable_from <= now) and (deadline is None or deadline > now)
    if view == "all":
        return True
    if view == "actionable":
        return open_now
    if view == "not_open":
        return actionable_from is not None and actionable_from > now
    if view == "due_soon":
        return open_now and deadline is not None and deadline <= soon
    raise FormInvalid({"view": f"列表：未知的视图 {view}（可用：{'、'.join(INBOX_VIEWS)}）"})


def inbox_counts(
    session: Session, clock: Clock, org_id: int, due_within_working_days: int = 3
) -> dict[str, int]:
    """How many items each inbox view holds for an org (engine/store/desk.py `counts` documents the contract).

    One grouped read of the covering index work_item (org_id, deadline, actionable_from, id): an org's items share
    few distinct (deadline, opening) pairs (campaign windows, notice ends by day), so every view is classified
    here from a handful of groups instead of one COUNT per view; plus one index count for `lapsed`.
    """
    now = clock.now()
    soon = _due_soon_limit(now, due_within_working_days)
    groups = session.execute(
        select(WorkItem.deadline, WorkItem.actionable_from, func.count())
        .where(WorkItem.org_id == org_id)
        .group_by(WorkItem.deadline, WorkItem.actionable_from)
    ).all()
    counts = {
        view: sum(n for deadline, opens, n in groups if _in_view(view, now, soon, opens, deadline))
        for view in INBOX_VIEWS[:-1]
    }
    counts["lapsed"] = session.scalar(
        select(func.count(ApplicationRow.id)).where(
            ApplicationRow.responsible_org_id == org_id, ApplicationRow.status == "expired"
        )
    )
    return counts


@dataclass(frozen=True)
class NoticeItem:
    """An application in its public notice at its unit: when the notice ends and reporting opens."""

    application_id: int
    applicant_name: str
    series: str | None
    title_sought: str | None
    notice_ends: datetime  # 24:00 of the notice's last working day (the application's deadline)
    last_day: date  # that last working day, local
    working_days_left: int  # working days of notice still to run after today (0 on the last day)
    reporting_opens: date  # the first day 上报主管部门 is accepted


def in_notice(session: Session, clock: Clock, org_id: int) -> list[NoticeItem]:
    """Applications of unit `org_id` in their public notice, soonest end first (rows only, no workflow)."""
    cal = default_calendar()
    today = cal.local_date(clock.now())
    rows = session.execute(
        select(
            ApplicationRow.id,
            ApplicationRow.applicant_name,
            ApplicationRow.series,
            ApplicationRow.title_sought,
            ApplicationRow.deadline,
        )
        .where(
            ApplicationRow.unit_id == org_id,
            ApplicationRow.status == "public_notice",
            ApplicationRow.deadline.is_not(None),
        )
        .order_by(ApplicationRow.deadline, ApplicationRow.id)
    )
    items = []
    for app_id, name, series, title, ends in rows:
        last_day = cal.local_date(
            ends - timedelta(microseconds=1)
        )  # an end at 24:00 belongs to the day before
        items.append(
            NoticeItem(
                app_id,
                name,
                series,
                title,
                ends,
                last_day,
                max(cal.working_days_between(today, last_day), 0),
                cal.local_date(ends),
            )
        )
    return items


@dataclass(frozen=True)
class DeploymentSummary:
    id: str
    campaign_id: str
    created_at: datetime
    is_current: bool
    application_count: int


@dataclass(frozen=True)
class PinnedApplication:
    """Which deployment an application runs on (it stays on the one it started with)."""

    id: int
    applicant_name: str
    status: str
    status_label: str
    deployment_id: str


def deployments(session: Session) -> list[DeploymentSummary]:
    """Every deployment, newest first, with how many applications run on it (no spec or sources loaded)."""
    counts = (
        select(ApplicationRow.deployment_id, func.count(ApplicationRow.id).label("n"))
        .group_by(ApplicationRow.deployment_id)
        .subquery()
    )
    rows = session.execute(
        select(
            DeploymentRow.id,
            DeploymentRow.campaign_id,
            DeploymentRow.created_at,
            DeploymentRow.is_current,
            func.coalesce(counts.c.n, 0),
        )
        .outerjoin(counts, counts.c.deployment_id == DeploymentRow.id)
        .order_by(DeploymentRow.created_at.desc(), DeploymentRow.is_current.desc(), DeploymentRow.id)
    )
    return [DeploymentSummary(i, c, at, bool(cur), n) for i, c, at, cur, n in rows]


def pinned_applications(session: Session, limit: int = 500) -> list[PinnedApplication]:
    """The newest applications with the deployment each runs on."""
    rows = session.execute(
        select(
            ApplicationRow.id,
            ApplicationRow.applicant_name,
            ApplicationRow.status,
            ApplicationRow.deployment_id,
        )
        .order_by(ApplicationRow.id.desc())
        .limit(limit)
    )
    return [PinnedApplication(i, name, st, STATUS_LABELS.get(st, st), dep) for i, name, st, dep in rows]


@dataclass(frozen=True)
class AttachmentInfo:
    sha256: str
    size: int
    mime: str
    original_name: str
    uploaded_by_id: int | None
    created_at: datetime


def attachment(session: Session, sha256: str) -> AttachmentInfo | None:
    """The upload record of stored bytes, or None (no scope check: callers check the sha256 is referenced)."""
    row = session.get(Attachment, sha256)
    return (
        AttachmentInfo(row.sha256, row.size, row.mime, row.original_name, row.uploaded_by_id, row.created_at)
        if row
        else None
    )


def file_names(session: Session, owner_id: int | None, shas: set[str]) -> dict[str, str]:
    """The names files carry on an application: the owner's own upload names, else the first uploader's.

    No scope check: callers pass only sha256s referenced by an application the viewer may see.
    """
    if not shas:
        return {}
    names = dict(
        session.execute(
            select(Attachment.sha256, Attachment.original_name).where(Attachment.sha256.in_(shas))
        ).all()
    )
    if owner_id is not None:
        names.update(
            session.execute(
                select(AttachmentName.sha256, AttachmentName.original_name).where(
                    AttachmentName.sha256.in_(shas), AttachmentName.user_id == owner_id
                )
            ).all()
        )
    return names
