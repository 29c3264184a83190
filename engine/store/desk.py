"""The reviewer's desk for hundreds: search, sort and count an org's work, and list what it has handled.

Reads the index tables only (work_item, application, history), never a workflow. Every query is scoped to one
org (its work items, or the history events it wrote), so a search can never reach another org's applications.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine import labels
from engine.accounts.models import Org, User
from engine.clock import Clock

from . import claims, queries
from .history import HistoryEvent
from .tables import ApplicationRow, WorkItem

PER_PAGE = 50
# Columns a page may sort by (a URL parameter never reaches SQL except through this table).
SORTS = {
    "deadline": (WorkItem.deadline, WorkItem.id),
    "id": (ApplicationRow.id,),
    "name": (ApplicationRow.applicant_name, ApplicationRow.id),
    "series": (ApplicationRow.series, ApplicationRow.id),
    "unit": (ApplicationRow.unit_id, ApplicationRow.id),
    "stage": (WorkItem.stage, WorkItem.deadline),
}
HANDLED_SORTS = {"at": (HistoryEvent.at,), "id": (HistoryEvent.application_id,)}


@dataclass(frozen=True)
class Search:
    """What a reviewer typed: every filter optional; the ID number must match exactly."""

    name: str = ""
    id_number: str = ""
    unit: str = ""
    series: str = ""
    campaign: str = ""
    stage: str = ""  # one stage of the org's work (the menu's stage entries link here)

    applicant_id: int | None = None  # the person `id_number` names (resolved by `resolve`), -1 when nobody

    def resolve(self, session: Session) -> Search:
        """This search with its ID number resolved to a user id (exact match only)."""
        if not self.id_number:
            return self
        user_id = session.scalar(select(User.id).where(User.id_number == self.id_number.strip().upper()))
        return replace(self, applicant_id=user_id if user_id is not None else -1)

    def active(self) -> bool:
        return any((self.name, self.id_number, self.unit, self.series, self.campaign, self.stage))


@dataclass(frozen=True)
class DeskRow:
    item: queries.WorkItemView
    unit_name: str
    claim: claims.ClaimView | None


@dataclass
class DeskPage:
    rows: list
    total: int
    page: int
    per_page: int
    sort: str
    descending: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def numbers(self, around: int = 3) -> list[int | None]:
        """Page numbers to show: first, last and a window around the current one (None = a gap)."""
        keep = {1, self.pages, *range(max(1, self.page - around), min(self.pages, self.page + around) + 1)}
        out: list[int | None] = []
        for n in sorted(keep):
            if out and out[-1] is not None and n - out[-1] > 1:
                out.append(None)
            out.append(n)
        return out


def _search(query: Select, s: Search) -> Select:
    if s.name:
        query = query.where(ApplicationRow.applicant_name.contains(s.name.strip(), autoescape=True))
    if s.id_number:  # resolved to the applicant first (unique index), so the join starts from their rows
        query = query.where(ApplicationRow.applicant_id == s.applicant_id)
    if s.unit:
        query = query.where(
            ApplicationRow.unit_id.in_(
                select(Org.id).where(Org.type == "unit", Org.name.contains(s.unit.strip(), autoescape=True))
            )
        )
    if s.series:
        query = query.where(ApplicationRow.series == s.series)
    if s.campaign:
        query = query.where(ApplicationRow.campaign_id == s.campaign)
    return query


def _order(sorts: dict, sort: str, descending: bool):
    columns = sorts.get(sort) or next(iter(sorts.values()))
    return [c.desc() if descending else c.asc() for c in columns]


def _unit_names(session: Session, unit_ids: set[int]) -> dict[int, str]:
    if not unit_ids:
        return {}
    return dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(unit_ids))).all())


def work(
    session: Session,
    clock: Clock,
    org_id: int,
    *,
    view: str = "actionable",
    search: Search = Search(),
    sort: str = "deadline",
    descending: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
    due_within_working_days: int = 3,
) -> DeskPage:
    """One page of an org's work items matching a search, sorted, with the total and each row's claim.

    `lapsed` lists applications that expired at this org. Raises FormInvalid for an unknown view.
    """
    now = clock.now()
    search = search.resolve(session)
    per_page = max(1, min(per_page, 10_000))
    page = max(1, page)
    if view == "lapsed":
        base = select(ApplicationRow).where(
            ApplicationRow.responsible_org_id == org_id, ApplicationRow.status == "expired"
        )
        base = _search(base, search)
        total = session.scalar(select(func.count()).select_from(base.subquery()))
        order = ApplicationRow.id.desc() if descending else ApplicationRow.updated_at.desc()
        rows = session.scalars(
            base.order_by(order, ApplicationRow.id).offset((page - 1) * per_page).limit(per_page)
        )
        items = [queries._item(r, r.stage, org_id, None, None) for r in rows]
    else:
        filters = queries._filters(view, now, due_within_working_days)
        if search.stage:
            filters = [*filters, WorkItem.stage == search.stage]
        base = (
            select(WorkItem, ApplicationRow)
            .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
            .where(WorkItem.org_id == org_id, *filters)
        )
        base = _search(base, search)
        counted = (
            select(func.count(WorkItem.id))
            .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
            .where(WorkItem.org_id == org_id, *filters)
        )
        total = session.scalar(_search(counted, search))
        result = session.execute(
            base.order_by(*_order(SORTS, sort, descending)).offset((page - 1) * per_page).limit(per_page)
        )
        items = [queries._item(a, w.stage, w.org_id, w.actionable_from, w.deadline) for w, a in result]
    units = _unit_names(session, {i.unit_id for i in items if i.unit_id})
    held = claims.holders(session, [i.application_id for i in items])
    rows = [DeskRow(i, units.get(i.unit_id, ""), held.get((i.application_id, i.stage))) for i in items]
    return DeskPage(rows, total or 0, page, per_page, sort if sort in SORTS else "deadline", descending)


@dataclass(frozen=True)
class HandledRow:
    application_id: int
    applicant_name: str
    unit_name: str
    series: str | None
    stage_label: str
    outcome: str
    actor_name: str
    at: datetime
    status_label: str


def handled(
    session: Session,
    org_id: int,
    *,
    search: Search = Search(),
    sort: str = "at",
    descending: bool = True,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> DeskPage:
    """What this org handled (已办): every task it completed, newest first, with its outcome and where the
    application stands now."""
    search = search.resolve(session)
    per_page = max(1, min(per_page, 10_000))
    page = max(1, page)
    base = (
        select(HistoryEvent, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == HistoryEvent.application_id)
        .where(HistoryEvent.org_id == org_id, HistoryEvent.event_type == "completed")
    )
    base = _search(base, search)
    counted = (
        select(func.count(HistoryEvent.id))
        .join(ApplicationRow, ApplicationRow.id == HistoryEvent.application_id)
        .where(HistoryEvent.org_id == org_id, HistoryEvent.event_type == "completed")
    )
    total = session.scalar(_search(counted, search))
    result = session.execute(
        base.order_by(*_order(HANDLED_SORTS, sort, descending), HistoryEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    units = _unit_names(session, {a.unit_id for _, a in result})
    from .services import deployment_for  # services builds on this module's siblings: import at call time

    rows = []
    for event, app in result:
        deployment = deployment_for(session, app.deployment_id)
        data = json.loads(event.data_json)
        decision = (data.get("form") or {}).get("decision")
        rows.append(
            HandledRow(
                app.id,
                app.applicant_name,
                units.get(app.unit_id, ""),
                app.series,
                deployment.model.label(event.stage),
                labels.decision_label(deployment, event.stage, decision) if decision else "已办理",
                data.get("actor_name", ""),
                event.at,
                queries.STATUS_LABELS.get(app.status, "其他"),
            )
        )
    return DeskPage(rows, total or 0, page, per_page, sort if sort in HANDLED_SORTS else "at", descending)


def counts(session: Session, clock: Clock, org_id: int, due_within_working_days: int = 3) -> dict[str, int]:
    """How many items each desk view holds for one org: the one count source of the desk and the menu."""
    return queries.inbox_counts(session, clock, org_id, due_within_working_days)


def stage_counts(session: Session, clock: Clock, org_id: int) -> dict[str, int]:
    """How many items an org can act on now, per stage (the menu's stage entries)."""
    filters = queries._filters("actionable", clock.now(), 0)
    rows = session.execute(
        select(WorkItem.stage, func.count(WorkItem.id))
        .where(WorkItem.org_id == org_id, *filters)
        .group_by(WorkItem.stage)
    )
    return {stage: n for stage, n in rows}


def applicant_todo(session: Session, user_id: int) -> int:
    """How many of a person's own applications wait on them (a draft to submit or a return to correct)."""
    return (
        session.scalar(
            select(func.count(ApplicationRow.id)).where(
                ApplicationRow.applicant_id == user_id,
                ApplicationRow.waiting_org_id.is_(None),
                ApplicationRow.status.in_(("draft", "returned")),
            )
        )
        or 0
    )
