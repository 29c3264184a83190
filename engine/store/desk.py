"""The reviewer's desk for hundreds: search, sort and count an org's work, and list what it has handled.

Reads the index tables only (work_item, application, history), never a workflow. Every query is scoped to one
org (its work items, or the history events it wrote), so a search can never reach another org's applications.

Counts per org — the one source for the desk's tabs and the menu's badges: `counts(session, clock, org_id,
due_within_working_days=3)` returns {"all", "actionable", "not_open", "due_soon", "lapsed": int}, exact at the
clock's instant (the views depend on time, so they are computed, not stored), and `stage_counts` the 可办理
items per stage. Both classify a `Tally`: one grouped read of the covering index work_item (org_id, stage,
deadline, actionable_from, application_id) — `tallies(session, org_ids)` reads it for several orgs in one
statement — plus one index count for `lapsed`: ≈ 8 ms of CPU on SQLite for an org holding 100,000 items. The
web layer reads the tallies of all a person's orgs once per request and hands them to both the menu and the
desk (`work(..., tally=)`), whose `DeskPage.counts` then holds the same dict, so a page never counts twice.

Scale (bench/desk.py, letter g): an unsearched page, or one showing a single stage, takes its total from the
tally and reads its 50 keys from the index before joining the application rows (deep pages stay index-only). A
search on application fields is resolved to application ids first (an ID number always; name, unit, series,
campaign on an org holding more than JOIN_BELOW items, when it matches at most RESOLVE_LIMIT applications; a unit
name to unit ids), so the org's items are reached by `work_item.application_id` (on PostgreSQL the ids travel as
one array parameter); a broader search is joined and counted up to COUNT_CAP, the count stopping there
(`DeskPage.capped`: the page says "超过"). Sorts on application columns of a large org walk an application index in
order (`_walkable`; on PostgreSQL through a LATERAL probe, see `_items`). Figures: README "Benchmarks" (quiet) and
bench/RESULTS.md, "Issue 11, desk speed" (how they were reached).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, Select, any_, bindparam, func, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from engine import labels
from engine.accounts.models import Org, User
from engine.clock import Clock

from . import claims, queries
from .history import HistoryEvent
from .tables import ApplicationRow, WorkItem

PER_PAGE = 50
RESOLVE_LIMIT = 10_000  # a search matching at most this many applications is resolved to their ids first …
JOIN_BELOW = 5_000  # … on an org holding more items than this (a smaller org joins its own items)
INLINE_IDS = 1_000  # a unit search names at most this many unit ids in its statements (else a subquery)
WALK_FROM = 2_000  # an org holding more items than this pages an application-column sort by walking its index
WALK_STEPS = 200_000  # … unless the page lies deeper than this many applications along that index
# A search matching more applications than RESOLVE_LIMIT is counted through the join only up to this: the page
# then says "more than 10000" (DeskPage.capped) instead of joining every item of a city-wide org per request.
COUNT_CAP = 10_000
MAX_PER_PAGE = 10_000  # the most rows one call returns: a CSV export holds at most this many
# Columns a page may sort by (a URL parameter never reaches SQL except through this table).
SORTS = {
    "deadline": queries.INBOX_ORDER,
    "id": (ApplicationRow.id,),
    "name": (ApplicationRow.applicant_name, ApplicationRow.id),
    "series": (ApplicationRow.series, ApplicationRow.id),
    "unit": (ApplicationRow.unit_id, ApplicationRow.id),
    "stage": (WorkItem.stage, WorkItem.deadline),
}
# Sorts on work_item columns only: their page keys come from the index without joining `application`.
ITEM_SORTS = {"deadline", "stage"}
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
    unit_ids: tuple[int, ...] | None = None  # the units whose names contain `unit` (resolved by `resolve`)

    def resolve(self, session: Session) -> Search:
        """This search with its ID number resolved to a user id (exact match only) and its unit text to the
        ids of the units whose names contain it (at most INLINE_IDS; more stay a subquery): PostgreSQL then
        reads the applications through their unit index instead of hashing every application per statement."""
        out = self
        if self.id_number:
            user_id = session.scalar(select(User.id).where(User.id_number == self.id_number.strip().upper()))
            out = replace(out, applicant_id=user_id if user_id is not None else -1)
        if self.unit:
            ids = session.scalars(_units(self.unit).limit(INLINE_IDS + 1)).all()
            if len(ids) <= INLINE_IDS:
                out = replace(out, unit_ids=tuple(ids))
        return out

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
    capped: bool = False  # `total` is COUNT_CAP and there are more (a broad search on a large org)

    @property
    def exports_all(self) -> bool:
        """Whether a CSV of this view holds every matching row (else its first MAX_PER_PAGE)."""
        return not self.capped and self.total <= MAX_PER_PAGE

    @property
    def export_rows(self) -> int:
        return min(self.total, MAX_PER_PAGE)

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


def _units(text: str) -> Select:
    """The ids of the units whose names contain `text`."""
    return select(Org.id).where(Org.type == "unit", Org.name.contains(text.strip(), autoescape=True))


def _conditions(s: Search) -> list:
    """The search as conditions on `application` (empty when nothing was typed)."""
    out = []
    if s.name:
        out.append(ApplicationRow.applicant_name.contains(s.name.strip(), autoescape=True))
    if s.id_number:  # resolved to the applicant first (unique index), so the join starts from their rows
        out.append(ApplicationRow.applicant_id == s.applicant_id)
    if s.unit:
        out.append(ApplicationRow.unit_id.in_(s.unit_ids if s.unit_ids is not None else _units(s.unit)))
    if s.series:
        out.append(ApplicationRow.series == s.series)
    if s.campaign:
        out.append(ApplicationRow.campaign_id == s.campaign)
    return out


def _search(query: Select, s: Search) -> Select:
    return query.where(*_conditions(s))


def _resolved(session: Session, s: Search, org_items: int) -> tuple[list, list]:
    """(conditions on work_item, conditions left on application) for a search: on an org holding more than
    JOIN_BELOW items, a search that matches at most RESOLVE_LIMIT applications becomes `work_item.application_id
    IN (…)` (index lookups per application, then the org); otherwise — a small org, whose few items are cheaper
    to join than all applications are to scan for a name, or a broad search — it stays a join condition."""
    conditions = _conditions(s)
    if not conditions or (org_items <= JOIN_BELOW and not s.id_number):  # an ID number is an index lookup
        return [], conditions
    matching = select(ApplicationRow.id).where(*conditions)
    if not (s.name or s.id_number or s.unit):
        # Only a series or campaign: these match broadly (every application of a campaign), so count the
        # matches first, up to the limit, from the column's index, rather than fetch 10,001 ids to drop them.
        found = session.scalar(select(func.count()).select_from(matching.limit(RESOLVE_LIMIT + 1).subquery()))
        if found > RESOLVE_LIMIT:
            return [], conditions
    ids = session.scalars(matching.limit(RESOLVE_LIMIT + 1)).all()
    if len(ids) > RESOLVE_LIMIT:
        return [], conditions
    return [_among(session, WorkItem.application_id, ids)], []


def _among(session: Session, column, ids) -> ColumnElement:
    """`column IN ids`; on PostgreSQL `= ANY(array)`, one parameter: ten thousand bound ids cost ~200 ms of
    client CPU and ~1 s per page there, and `IN (SELECT …)` of the search itself makes its planner hash every
    item of the org (it cannot estimate the org condition written for SQLite's planner)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(Integer)))
    return column.in_(ids)


def _stage(s: Search) -> list:
    """The search's stage as a condition on work_item (the menu's stage entries open the desk so)."""
    return [WorkItem.stage == s.stage] if s.stage else []


def _order(sorts: dict, sort: str, descending: bool):
    columns = sorts.get(sort) or next(iter(sorts.values()))
    return [c.desc() if descending else c.asc() for c in columns]


def _unit_names(session: Session, unit_ids: set[int]) -> dict[int, str]:
    if not unit_ids:
        return {}
    return dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(unit_ids))).all())


@dataclass(frozen=True)
class Tally:
    """One org's work items grouped by (stage, deadline, opening), read from the index work_item (org_id, stage,
    deadline, actionable_from, application_id) without touching the table. An org's items share few such
    groups (campaign windows, notice ends by day), so the desk's tab counts (`counts`) and the menu's per-stage
    badges (`stage_counts`) are both classified from it in Python: a page reads it once per org."""

    groups: tuple[tuple[str, datetime | None, datetime | None, int], ...] = ()


def tallies(session: Session, org_ids) -> dict[int, Tally]:
    """The Tally of each org in `org_ids` (one grouped read for all of them; an org without work is empty)."""
    org_ids = sorted(set(org_ids))
    if not org_ids:
        return {}
    found: dict[int, list] = {org_id: [] for org_id in org_ids}
    keys = (WorkItem.org_id, WorkItem.stage, WorkItem.deadline, WorkItem.actionable_from)
    if session.get_bind().dialect.name == "postgresql":
        # Asked in the index's order, PostgreSQL reads it index-only and counts each group as it passes
        # (GroupAggregate); given the plain GROUP BY it scans the table and hashes every row, since it expects
        # a group per few items: 45–62 → 22–36 ms for 102,000 items under load. SQLite walks the index anyway.
        ordered = select(*keys).where(WorkItem.org_id.in_(org_ids)).order_by(*keys).subquery()
        cols = tuple(ordered.c[k.key] for k in keys)
        query = select(*cols, func.count()).group_by(*cols)
    else:
        query = select(*keys, func.count()).where(WorkItem.org_id.in_(org_ids)).group_by(*keys)
    for org_id, stage, deadline, opens, n in session.execute(query):
        found[org_id].append((stage, deadline, opens, n))
    return {org_id: Tally(tuple(groups)) for org_id, groups in found.items()}


def _classify(tally: Tally, now: datetime, due_within_working_days: int, stage: str = "") -> dict[str, int]:
    """The work-item views' counts from a Tally (one stage's only, when given)."""
    soon = queries._due_soon_limit(now, due_within_working_days)
    out = {view: 0 for view in queries.INBOX_VIEWS[:-1]}
    for group_stage, deadline, opens, n in tally.groups:
        if stage and group_stage != stage:
            continue
        for view in out:
            if queries._in_view(view, now, soon, opens, deadline):
                out[view] += n
    return out


def counts(
    session: Session,
    clock: Clock,
    org_id: int,
    due_within_working_days: int = 3,
    tally: Tally | None = None,
) -> dict[str, int]:
    """How many items each view of the org's desk holds now (see the module docstring: the one source); from
    `tally` when the caller read it already (the menu and the desk share one per request)."""
    if tally is None:
        tally = tallies(session, [org_id])[org_id]
    out = _classify(tally, clock.now(), due_within_working_days)
    out["lapsed"] = session.scalar(
        select(func.count(ApplicationRow.id)).where(
            ApplicationRow.responsible_org_id == org_id, ApplicationRow.status == "expired"
        )
    )
    return out


def _walkable(session: Session, total: int, reach: int) -> bool:
    """Whether to page an application-column sort by walking `application` in index order: worth it for an
    org holding many items, and bounded by the rows the walk may pass (the org's share of all applications)."""
    if total <= WALK_FROM:
        return False  # few enough to join and sort
    applications = session.scalar(select(func.max(ApplicationRow.id))) or 0
    return reach * applications / total <= WALK_STEPS


def _items(session, org_id, filters, search, sort, descending, offset, limit, total, org_items):
    """(one page of work items as views, the total, whether the total was capped); `total` is known already
    for an unsearched page."""
    on_items, on_apps = _resolved(session, search, org_items)
    # `+ 0` keeps SQLite (which has no statistics) from walking the org's whole index range where the items
    # are to be looked up by application instead; PostgreSQL, which has them, is given the plain condition (it
    # cannot estimate `org_id + 0`, and then hashes the org's every item instead of walking an index).
    mine = (WorkItem.org_id + 0) if session.get_bind().dialect.name == "sqlite" else WorkItem.org_id
    by_app = [mine == org_id, *filters, *on_items]
    where = by_app if on_items else [WorkItem.org_id == org_id, *filters]

    def keyed(columns, joined: bool):
        query = select(*columns).where(*where, *on_apps)
        if joined:
            query = query.join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
        return query

    capped = False
    if total is None and on_apps:  # a broad search: count through the join, but only up to COUNT_CAP
        found = keyed([WorkItem.id], True).limit(COUNT_CAP + 1).subquery()
        total = session.scalar(select(func.count()).select_from(found))
        capped, total = total > COUNT_CAP, min(total, COUNT_CAP)
    elif total is None:
        total = session.scalar(keyed([func.count(WorkItem.id)], False))
    order = _order(SORTS, sort, descending)
    if sort in ITEM_SORTS or on_items or not _walkable(session, total, offset + limit):
        # The page's keys first (an index range when sorted by work_item columns), then only their rows.
        keys = session.scalars(
            keyed([WorkItem.id], bool(on_apps) or sort not in ITEM_SORTS)
            .order_by(*order, WorkItem.id)
            .offset(offset)
            .limit(limit)
        ).all()
        rows_where, key_of = [WorkItem.id.in_(keys)], lambda w, a: w.id
    else:  # walk the application index in the sort's order, keeping applications with an item here
        if session.get_bind().dialect.name == "postgresql":
            # A LATERAL probe with LIMIT 1 cannot become a hashed semi-join: PostgreSQL otherwise hashes the
            # org's every item and sorts all its applications to skip `offset` of them (108 ms for page 1000
            # of a committee holding 100k), where walking the (applicant_name, id) index and probing each
            # application's items stops after offset + limit matches.
            probe = (
                select(WorkItem.id)
                .where(WorkItem.application_id == ApplicationRow.id, *by_app)
                .limit(1)
                .lateral()
            )
            walk = select(ApplicationRow.id).join(probe, true())
        else:
            has_item = select(WorkItem.id).where(WorkItem.application_id == ApplicationRow.id, *by_app)
            walk = select(ApplicationRow.id).where(has_item.exists())
        keys = session.scalars(walk.where(*on_apps).order_by(*order).offset(offset).limit(limit)).all()
        rows_where, key_of = [WorkItem.application_id.in_(keys), *by_app], lambda w, a: a.id
    position = {key: n for n, key in enumerate(keys)}
    result = sorted(
        session.execute(
            select(WorkItem, ApplicationRow)
            .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
            .where(*rows_where)
        ),
        key=lambda row: (position[key_of(*row)], row[0].id),
    )
    items = [queries._item(a, w.stage, w.org_id, w.actionable_from, w.deadline) for w, a in result]
    return items, total or 0, capped


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
    tally: Tally | None = None,
) -> DeskPage:
    """One page of an org's work items matching a search, sorted, with the total, the tab counts and each
    row's claim. `lapsed` lists applications that expired at this org. Raises FormInvalid for an unknown view.
    `tally`: the org's Tally when the caller read it already (else read here).
    """
    now = clock.now()
    search = search.resolve(session)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    if tally is None:
        tally = tallies(session, [org_id])[org_id]
    tab = counts(session, clock, org_id, due_within_working_days, tally)
    known = None  # the total, when the tally holds it: no search, or only a stage (the menu's stage entries)
    if not search.active():
        known = tab.get(view)
    elif not _conditions(search) and view in queries.INBOX_VIEWS[:-1]:
        known = _classify(tally, now, due_within_working_days, search.stage)[view]
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
        items, capped = [queries._item(r, r.stage, org_id, None, None) for r in rows], False
    else:
        items, total, capped = _items(
            session,
            org_id,
            [*queries._filters(view, now, due_within_working_days), *_stage(search)],
            search,
            sort,
            descending,
            (page - 1) * per_page,
            per_page,
            known,
            tab["all"],
        )
    units = _unit_names(session, {i.unit_id for i in items if i.unit_id})
    held = claims.holders(session, [i.application_id for i in items])
    rows = [DeskRow(i, units.get(i.unit_id, ""), held.get((i.application_id, i.stage))) for i in items]
    return DeskPage(
        rows, total, page, per_page, sort if sort in SORTS else "deadline", descending, tab, capped
    )


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
    per_page = max(1, min(per_page, MAX_PER_PAGE))
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
    if not search.active():  # the org's own index range, no join
        counted = select(func.count(HistoryEvent.id)).where(
            HistoryEvent.org_id == org_id, HistoryEvent.event_type == "completed"
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


def stage_counts(session: Session, clock: Clock, org_id: int, tally: Tally | None = None) -> dict[str, int]:
    """How many items an org can act on now, per stage (the menu's stage entries); from `tally` when read."""
    if tally is None:
        tally = tallies(session, [org_id])[org_id]
    now = clock.now()
    out: dict[str, int] = {}
    for stage, deadline, opens, n in tally.groups:
        if queries._in_view("actionable", now, None, opens, deadline):
            out[stage] = out.get(stage, 0) + n
    return out


def pending_bindings(session: Session, org_ids) -> dict[int, int]:
    """How many registrations wait for each of `org_ids` to confirm them as their parent (the menu's 待确认绑定
    badges, for the orgs a person administers: the caller checks that), in one statement for all of them."""
    org_ids = sorted(set(org_ids))
    if not org_ids:
        return {}
    found = dict(
        session.execute(
            select(Org.parent_id, func.count(Org.id))
            .where(Org.parent_id.in_(org_ids), Org.status == "pending")
            .group_by(Org.parent_id)
        ).all()
    )
    return {org_id: found.get(org_id, 0) for org_id in org_ids}


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
