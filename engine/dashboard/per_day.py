"""Submissions and acceptances per day, from the history (the per-day chart)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from engine.store.tables import ApplicationRow, HistoryEvent

from .scope import Filters, Scope


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
