"""Whether a person may act on a task now, and if not, why and until when (typed refusals with their dates).

One place answers for the task page (shown before the click) and for the action itself (checked again in the
unit of work), so a view never adds a rule of its own. Reads rows and history only, never a workflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from engine import labels
from engine.accounts.models import User
from engine.errors import (
    ActionRefused,
    ClaimedByColleague,
    HandledByOther,
    Lapsed,
    NotFound,
    NoticeRunning,
    NotYetOpen,
    WindowClosed,
)

from .duties import own_application_refusal
from .history import HistoryEvent
from .tables import ApplicationRow, TaskClaim, WorkItem
from .uow import Prepared


@dataclass(frozen=True)
class OpenTask:
    """A task the actor may act on now."""

    application_id: int
    stage: str
    org_id: int | None
    actionable_from: datetime | None
    deadline: datetime | None


def stage_label(deployment, stage: str | None) -> str:
    """The stage's Chinese name from the deployment's stage model (never the BPMN id)."""
    return deployment.model.label(stage) if deployment is not None and stage else ""


def check(
    session: Session,
    now: datetime,
    app_id: int,
    stage: str,
    org_ids: set[int],
    user_id: int,
    deployment=None,
    applicant_id: int | None = None,
    items: list | None = None,
) -> OpenTask:
    """The open task at `stage` for one of `org_ids`, or the typed refusal that explains why not.

    Raises NoticeRunning, NotYetOpen, WindowClosed, Lapsed, HandledByOther, ClaimedByColleague, or
    ActionRefused when the task is simply not this org's now. An action that has read the application row
    passes its `deployment` and `applicant_id`, so the row is not read again, and the stage's work items
    when it read them with the row (`task_columns`/`task_join`).
    """
    if applicant_id is None or deployment is None:
        row = _row(session, app_id)
        applicant_id = row.applicant_id
        if deployment is None:
            from .services import deployment_for  # services -> gate: import at call time

            deployment = deployment_for(session, row.deployment_id)
    own = own_application_refusal(deployment, stage, user_id, applicant_id, app_id)
    if own is not None:  # segregation of duties comes first: no role makes one's own review possible
        raise own
    # the work items of this stage and a valid claim on it, in one statement (every action passes here)
    if items is None:
        items = _ITEMS_WITH_CLAIM.all(session, {"app_id": app_id, "stage": stage})
    item = next((w for w in items if w.org_id in org_ids), None)
    if item is None:
        _explain_missing(session, _row(session, app_id), stage, org_ids, deployment)
    if item.actionable_from and now < item.actionable_from:
        raise NotYetOpen(stage_label(deployment, stage), item.actionable_from, stage=stage)
    if item.deadline and now >= item.deadline:
        raise WindowClosed(stage_label(deployment, stage), item.deadline, stage=stage)
    if item.claim_user_id is not None and item.claim_user_id != user_id:
        raise ClaimedByColleague(item.claim_user_name, item.claimed_at, stage=stage)
    return OpenTask(app_id, stage, item.org_id, item.actionable_from, item.deadline)


_WI, _APP, _CLAIM, _USER = WorkItem.__table__, ApplicationRow.__table__, TaskClaim.__table__, User.__table__
# A work item of the stage and the claim on it when still valid (claims.holder's rule: made at the
# application's current version), as columns beside the application row's.
task_columns = (
    _WI.c.org_id,
    _WI.c.actionable_from,
    _WI.c.deadline,
    _CLAIM.c.user_id.label("claim_user_id"),
    _USER.c.real_name.label("claim_user_name"),
    _CLAIM.c.claimed_at,
)


def task_join(app):
    """`application` ⟕ its work items at :stage ⟕ their valid claim ⟕ the claim holder (an action reads
    its row and the gate's facts in one statement)."""
    return (
        app.outerjoin(_WI, and_(_WI.c.application_id == app.c.id, _WI.c.stage == bindparam("stage")))
        .outerjoin(
            _CLAIM,
            and_(
                _CLAIM.c.application_id == _WI.c.application_id,
                _CLAIM.c.stage == _WI.c.stage,
                _CLAIM.c.app_version == app.c.version,
            ),
        )
        .outerjoin(_USER, _USER.c.id == _CLAIM.c.user_id)
    )


def _items_with_claim():
    """Work items of (:app_id, :stage) with the claim on that task when it is still valid."""
    return (
        select(*task_columns)
        .select_from(task_join(_APP))
        .where(_APP.c.id == bindparam("app_id"), _WI.c.application_id.is_not(None))
    )


_ITEMS_WITH_CLAIM = Prepared(_items_with_claim())
# The application columns a refusal explains itself with (Core: the store's handle may be a Connection)
_ROW = Prepared(
    select(
        _APP.c.id,
        _APP.c.applicant_id,
        _APP.c.deployment_id,
        _APP.c.status,
        _APP.c.stage,
        _APP.c.waiting_org_id,
        _APP.c.deadline,
    ).where(_APP.c.id == bindparam("app_id"))
)


def _row(session, app_id: int):
    row = _ROW.first(session, {"app_id": app_id})
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    return row


def _explain_missing(session: Session, row, stage: str, org_ids: set[int], deployment):
    latest = session.execute(
        select(HistoryEvent.at, HistoryEvent.data_json, HistoryEvent.org_id, HistoryEvent.stage)
        .where(HistoryEvent.application_id == row.id, HistoryEvent.event_type == "completed")
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.stage == stage:  # the task just done, by a colleague or a double submit
        _handled(latest, stage, deployment)
    if row.status == "public_notice" and row.waiting_org_id in org_ids and row.deadline is not None:
        raise NoticeRunning(row.deadline, stage=stage)
    done = session.execute(
        select(HistoryEvent.at, HistoryEvent.data_json, HistoryEvent.org_id, HistoryEvent.stage)
        .where(
            HistoryEvent.application_id == row.id,
            HistoryEvent.stage == stage,
            HistoryEvent.event_type == "completed",
        )
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    ).first()
    if row.status == "expired" and (done is None or row.stage == stage):
        raise Lapsed(
            stage_label(deployment, row.stage) or stage_label(deployment, stage),
            _lapsed_at(session, row),
            stage=stage,
        )
    if done is not None:
        _handled(done, stage, deployment)
    raise ActionRefused(f"「{stage_label(deployment, stage)}」当前不在本单位待办中", stage=stage)


def _lapsed_at(session: Session, row) -> datetime | None:
    """The deadline the application lapsed at: the due time of the timer that ended it."""
    data = session.scalar(
        select(HistoryEvent.data_json)
        .where(HistoryEvent.application_id == row.id, HistoryEvent.event_type == "timer_fired")
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    )
    due = json.loads(data).get("due_at") if data else None
    return datetime.fromisoformat(due) if due else row.deadline


def _handled(event, stage: str, deployment):
    data = json.loads(event.data_json)
    decision = (data.get("form") or {}).get("decision")
    outcome = labels.decision_label(deployment, stage, decision) if decision else "已提交"
    raise HandledByOther(
        stage_label(deployment, stage), data.get("actor_name", ""), event.at, outcome, stage=stage
    )


def explain(
    session: Session,
    now: datetime,
    app_id: int,
    stage: str,
    org_ids: set[int],
    user_id: int,
    deployment=None,
) -> ActionRefused | None:
    """The refusal an action would get now, for the page to show before the click; None when it is open."""
    try:
        check(session, now, app_id, stage, org_ids, user_id, deployment)
    except ActionRefused as refusal:
        return refusal
    return None
