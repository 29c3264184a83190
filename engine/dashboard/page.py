"""Everything one dashboard page shows, for one viewer and org."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import FormInvalid
from engine.store.tables import DeploymentRow

from .per_day import DayCount, per_day_cached
from .scope import Filters, Scope, scope_for
from .tables import (
    ENDED_LABELS,
    AtRisk,
    CountsTable,
    LapseRow,
    _deployment,
    at_risk,
    at_risk_count,
    counts,
    lapses,
)


def campaigns(session: Session) -> list[str]:
    """Campaign ids deployed, newest first (the page's filter)."""
    rows = session.execute(
        select(DeploymentRow.campaign_id, func.max(DeploymentRow.created_at)).group_by(
            DeploymentRow.campaign_id
        )
    ).all()
    return [c for c, _ in sorted(rows, key=lambda r: r[1], reverse=True)]


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
