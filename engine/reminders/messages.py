"""The words of a reminder (Chinese), from the campaign file and the task: never a stage id or a hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calendars import TZ
from engine import timefmt

from .policy import OPENS


@dataclass(frozen=True)
class TaskFacts:
    """What a reminder says about one ready task."""

    application_id: int
    applicant_name: str
    series: str | None
    stage: str
    actionable_from: datetime | None
    deadline: datetime


def stage_label(model, stage: str) -> str:
    """The task's Chinese name: the BPMN task's name (engine.stages)."""
    return model.label(stage) or "待办事项"


def deadline_text(deadline: datetime) -> str:
    """A deadline as the notice writes it, its last day (engine.timefmt, as every page and message)."""
    return timefmt.deadline_cn(deadline)


def _opening_text(instant: datetime) -> str:
    return timefmt.opens_cn(instant)


def series_name(campaign, code: str) -> str:
    for series in campaign.series:
        if series.code == code:
            return series.name
    return code


def bring_list(campaign) -> str:
    """What the applicant brings to the onsite visit, as the campaign file says."""
    return (
        f"请携带评审表一式{campaign.review_form_copies}份、公示表{campaign.notice_form_copies}份，"
        f"现场缴纳评审费{campaign.fee_cny}元。地点：{campaign.onsite_address}"
    )


def compose(
    campaign, calendar, now: datetime, task: TaskFacts, offset_key: str, *, to_applicant: bool, model
):
    """(subject, body) of one reminder; `model` is the deployment's stage model (labels)."""
    label = stage_label(model, task.stage)
    due = deadline_text(task.deadline)
    who = task.applicant_name + (f"（{series_name(campaign, task.series)}）" if task.series else "")
    if offset_key == OPENS:
        subject = f"【办理提醒】「{label}」今天开始办理，{due}截止"
        lead = f"「{label}」自{_opening_text(task.actionable_from or now)}起可以办理，{due}截止。"
    else:
        left = calendar.working_days_between(now.astimezone(TZ).date(), timefmt.last_day(task.deadline))
        remain = "今天截止" if left <= 0 else f"还有{left}个工作日"
        subject = f"【截止提醒】「{label}」将于{due}截止（{remain}）"
        lead = f"「{label}」将于{due}截止，{remain}。"
    parts = [lead, f"申请书：{who}，编号 {task.application_id}。"]
    if to_applicant and task.stage == campaign.onsite_stage:
        parts.append(bring_list(campaign))
    if to_applicant:
        parts.append("逾期未办理，申请书将逾期失效。")
    else:
        parts.append("逾期未办理，申请书将逾期失效，后果由贵单位自行负责。")
    return subject[:200], "".join(parts)
