"""How windows, return cycles and lapses apply to an application: generic mechanisms, parameterised by the
deployment's stage model (engine.stages) and its campaign file. No stage is named here.

Dates live in the campaign file; which stage comes after which, and which stage a correction goes straight
back to, live in the BPMN.
"""

from __future__ import annotations

from datetime import datetime

from calendars import default_calendar

from .stages import Outcome, ProcessModel  # noqa: F401 -- Outcome is part of this module's answers


def stage_deadline(model: ProcessModel, campaign, stage: str, return_stage: str | None = None) -> datetime:
    """When a task at `stage` lapses: its window's end, or the return-cycle deadline while re-doing it.

    "中间环节退回需补正的申请书，请补正后于当前（退回）环节的下一环节审核截止日前重新提交": a return at
    stage S is re-done by the deadline of the stage after S. A return at a stage the correction goes straight
    back to (the committee in 2020) has its own dates: [resubmission] in the campaign.
    """
    if return_stage in model.direct_returns:
        if stage in model.corrections:
            return default_calendar().end_of_day(campaign.committee_resubmit_by)
        if stage == return_stage:
            return default_calendar().end_of_day(campaign.committee_recheck_by)
    elif model.in_return_cycle(stage, return_stage):
        after = model.after(return_stage)
        if after is not None:
            return campaign.deadline(after)
    return campaign.deadline(stage)


def actionable_from(model: ProcessModel, campaign, stage: str, return_stage: str | None = None):
    """When a ready task may first be acted on: its window's opening, at once inside a return cycle."""
    if stage in model.corrections or model.in_return_cycle(stage, return_stage):
        return None
    return campaign.opens_at(stage)
