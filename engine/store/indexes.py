"""Write an application's state and its index rows (application summary, work items, due timers).

Called inside an action's unit of work: the version check, state, indexes and history commit together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from engine.errors import AlreadyHandled
from engine.runtime import Application

from .tables import ApplicationRow, DueTimer, WorkflowState, WorkItem

CONFLICT_MESSAGE = "该申请书已被他人处理，请刷新后重试"


def summary_fields(app: Application) -> dict:
    """The application-row columns that follow from the workflow: status, stage, waiting org, deadlines."""
    status = app.status()
    fields = {
        "status": status.status,
        "stage": status.stage,
        "waiting_org_id": status.waiting_org,
        "deadline": status.deadline,
        "actionable_from": status.actionable_from,
        "responsible_org_id": status.responsible_org,
        "committee_id": app.chain.get("committee"),  # follows the declaration's series once submitted
    }
    data = app.data
    for key in ("series", "title_sought"):
        if data.get(key):
            fields[key] = str(data[key])[:100]
    return fields


def bump_version(session: Session, app_id: int, version: int, app: Application, now: datetime) -> int:
    """`UPDATE application … WHERE id=? AND version=?`; raises AlreadyHandled when someone else got there first."""
    result = session.execute(
        update(ApplicationRow)
        .where(ApplicationRow.id == app_id, ApplicationRow.version == version)
        .values(version=version + 1, updated_at=now, **summary_fields(app))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlreadyHandled(CONFLICT_MESSAGE, application_id=app_id)
    return version + 1


def write_state(session: Session, app_id: int, app: Application, *, new: bool = False) -> None:
    """Store the instance state (without the spec)."""
    state = app.to_json()
    if new:
        session.execute(insert(WorkflowState).values(application_id=app_id, state_json=state))
    else:
        session.execute(
            update(WorkflowState)
            .where(WorkflowState.application_id == app_id)
            .values(state_json=state)
            .execution_options(synchronize_session=False)
        )


def write_indexes(session: Session, app_id: int, app: Application) -> None:
    """Replace the application's work items and due timers with what the workflow says now."""
    session.execute(
        delete(WorkItem).where(WorkItem.application_id == app_id).execution_options(synchronize_session=False)
    )
    session.execute(
        delete(DueTimer).where(DueTimer.application_id == app_id).execution_options(synchronize_session=False)
    )
    items = [
        {
            "application_id": app_id,
            "stage": t.stage,
            "tier": t.tier,
            "org_id": t.org_id,
            "actionable_from": t.actionable_from,
            "deadline": t.deadline,
        }
        for t in app.ready_tasks()
    ]
    if items:
        session.execute(insert(WorkItem), items)
    timers = [
        {
            "application_id": app_id,
            "name": t.name,
            "due_at": t.due_at,
            "attempts": 0,
            "next_attempt_at": t.due_at,
        }
        for t in app.due_timers()
    ]
    if timers:
        session.execute(insert(DueTimer), timers)
