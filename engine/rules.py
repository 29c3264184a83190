"""The notice's rules about tiers, windows and deadlines (渝职改办〔2020〕200号), in one place.

Dates themselves live in the campaign file; this module says how they apply to an application.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calendars import default_calendar

# Lanes of the BPMN pool and who works in them. A lane is a tier of the application's review chain.
LANE_TIERS = {
    "申报人": "applicant",
    "单位": "unit",
    "二级审核": "tier2",
    "三级审核": "tier3",
    "评委会": "committee",
}

# Every user task the process must have (DESIGN.md section 5), with its Chinese label.
STAGE_LABELS = {
    "applicant_submit": "申报人填报",
    "applicant_correct": "退回补正",
    "unit_review": "单位审核",
    "unit_report": "上报主管部门",
    "tier2_review": "区县主管部门/人事代理机构审核",
    "tier3_review": "区县职改部门/市级主管部门审核",
    "committee_review": "评委会审核受理",
    "onsite_confirm": "现场缴费并提交纸质材料",
    "public_notice": "单位公示",
}

# Review stages in the order an application climbs them.
REVIEW_ORDER = ("unit_review", "unit_report", "tier2_review", "tier3_review", "committee_review")

# "中间环节退回需补正的申请书，请补正后于当前（退回）环节的下一环节审核截止日前重新提交":
# a return at stage S waits on the deadline of the stage after S.
NEXT_STAGE = {
    "unit_review": "unit_report",
    "unit_report": "tier2_review",
    "tier2_review": "tier3_review",
    "tier3_review": "committee_review",
}

# Stages the applicant must act at: a lapse there is the applicant's own (the paper forms and fee included).
APPLICANT_RESPONSIBLE = {"applicant_submit", "applicant_correct", "onsite_confirm"}

# Only the onsite desk confirms paper forms and the fee; every other org task is for its admins and reviewers.
STAGE_ROLES = {"onsite_confirm": {"desk", "admin"}}
DEFAULT_REVIEW_ROLES = {"admin", "reviewer"}


def in_return_cycle(stage: str, return_stage: str | None) -> bool:
    """True when `stage` is being re-done because of a return at `return_stage`."""
    if not return_stage or stage == "applicant_correct":
        return bool(return_stage)
    if return_stage == "committee_review":
        return stage == "committee_review"  # a committee return goes straight back to the committee
    if stage not in REVIEW_ORDER or return_stage not in REVIEW_ORDER:
        return False
    return REVIEW_ORDER.index(stage) <= REVIEW_ORDER.index(return_stage)


def stage_deadline(campaign, stage: str, return_stage: str | None = None) -> datetime:
    """When a task at `stage` lapses: its window's end, or the return-cycle deadline while re-doing it."""
    if return_stage == "committee_review":
        # "评委会审核环节退回需补正的申请书，请补正后于12月20日前重新提交至评委会审核环节"
        if stage == "applicant_correct":
            return default_calendar().end_of_day(campaign.committee_resubmit_by)
        if stage == "committee_review":
            return default_calendar().end_of_day(campaign.committee_recheck_by)
    elif in_return_cycle(stage, return_stage):
        return campaign.deadline(NEXT_STAGE[return_stage])
    return campaign.deadline(stage)


def actionable_from(campaign, stage: str, return_stage: str | None = None) -> datetime | None:
    """When a ready task may first be acted on: its window's opening, at once inside a return cycle."""
    if stage == "applicant_correct" or in_return_cycle(stage, return_stage):
        return None
    return campaign.opens_at(stage)


@dataclass(frozen=True)
class Outcome:
    """What an end event of the process means for the application."""

    status: str
    stage: str | None = None


def outcome_of_end_event(end_event_id: str) -> Outcome:
    """Map the BPMN end event an application finished at to its final status (and lapsed stage)."""
    if end_event_id.startswith("lapsed_"):
        return Outcome("expired", end_event_id.removeprefix("lapsed_"))
    if end_event_id == "end_not_recommended":
        return Outcome("not_recommended", "unit_report")
    if end_event_id == "end_confirmed":
        return Outcome("confirmed", "onsite_confirm")
    return Outcome("ended", None)


def status_for_waiting(stage: str) -> str:
    """The application status while it waits at `stage` (DESIGN.md section 5)."""
    return {
        "applicant_submit": "draft",
        "applicant_correct": "returned",
        "unit_review": "submitted",
        "public_notice": "public_notice",
        "onsite_confirm": "accepted",
    }.get(stage, "in_review")
