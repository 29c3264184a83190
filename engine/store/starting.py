"""Starting a declaration, as the 我的申请书 page asks it: in which campaign may this person start now (and if
not, why), and from which unit. The page renders the answers; the rules live here and in `start_application`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import timefmt
from engine.accounts import services as acc
from engine.clock import Clock
from engine.deployment import Deployment

from . import services
from .tables import ApplicationRow


@dataclass(frozen=True)
class StartOption:
    """A current campaign on the start page: its submission window, and whether this person may start in it."""

    deployment: Deployment
    window: str  # 「申报人填报」时间为 2020年11月17日至11月23日
    may_start: bool
    why_not: str  # when not: the application already started, or the window not open (with its dates)
    existing: int | None = None  # the person's unfinished application in this campaign


@dataclass(frozen=True)
class UnitChoice:
    """The units offered for a new declaration: a member of units only those (fixed when one), otherwise
    every unit with the one of the person's latest application chosen first."""

    units: list
    fixed: bool
    chosen: int | None


def start_options(session: Session, clock: Clock, applicant_id: int) -> list[StartOption]:
    """Every current campaign, each saying whether `applicant_id` may start a declaration in it now."""
    now, options = clock.now(), []
    for d in services.current_deployments(session):
        window = services.window_text(d)
        existing = services.open_application(session, applicant_id, d.campaign.id)
        first = d.model.submission
        if existing is not None:
            why = f"您已在本批次创建申请书（编号 {existing}），请在上方列表中继续办理；每批次只能有一份未办结的申请书"
        elif now < d.campaign.opens_at(first):
            why = f"{window}，尚未开始：{timefmt.opens_cn(d.campaign.opens_at(first))}起可开始申报"
        elif now >= d.campaign.deadline(first):
            why = f"{window}，已于{timefmt.deadline_cn(d.campaign.deadline(first))}截止，不能再开始申报"
        else:
            why = ""
        options.append(StartOption(d, window, not why, why, existing))
    return options


def unit_choice(session: Session, applicant_id: int) -> UnitChoice:
    """The units a new declaration of `applicant_id` may name (see UnitChoice)."""
    bound = acc.units_of_member(session, applicant_id)
    if bound:
        return UnitChoice(bound, True, bound[0].id if len(bound) == 1 else None)
    latest = session.scalar(
        select(ApplicationRow.unit_id)
        .where(ApplicationRow.applicant_id == applicant_id)
        .order_by(ApplicationRow.id.desc())
        .limit(1)
    )
    return UnitChoice(acc.active_orgs_of_types(session, ("unit",)), False, latest)
