"""Claim and release of a task by one reviewer of its org, so colleagues do not open the same hundred files.

A claim is advisory for reading and binding for acting: colleagues see who holds a task, and the gate refuses
their action on it (ClaimedByColleague). An unclaimed task stays open to every reviewer of the org; the org's
admins may release anyone's claim. A claim lapses by itself once the application moves on (its version).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.accounts.models import Membership, User
from engine.clock import Clock
from engine.errors import ActionRefused, ClaimedByColleague, NotPermitted

from .tables import ApplicationRow, TaskClaim, WorkItem
from .uow import UnitOfWork


@dataclass(frozen=True)
class ClaimView:
    application_id: int
    stage: str
    org_id: int
    user_id: int
    user_name: str
    claimed_at: datetime


def _valid():
    return (
        select(TaskClaim, User.real_name)
        .join(ApplicationRow, ApplicationRow.id == TaskClaim.application_id)
        .join(User, User.id == TaskClaim.user_id)
        .where(ApplicationRow.version == TaskClaim.app_version)
    )


def _view(claim: TaskClaim, name: str) -> ClaimView:
    return ClaimView(claim.application_id, claim.stage, claim.org_id, claim.user_id, name, claim.claimed_at)


def holder(session: Session, app_id: int, stage: str) -> ClaimView | None:
    """Who holds the task now, or None (stale claims do not count)."""
    row = session.execute(
        _valid().where(TaskClaim.application_id == app_id, TaskClaim.stage == stage)
    ).first()
    return _view(*row) if row else None


def holders(session: Session, app_ids: list[int]) -> dict[tuple[int, str], ClaimView]:
    """Valid claims on a page of applications, by (application id, stage)."""
    if not app_ids:
        return {}
    rows = session.execute(_valid().where(TaskClaim.application_id.in_(app_ids)))
    return {(c.application_id, c.stage): _view(c, name) for c, name in rows}


def _roles(session: Session, user_id: int, org_id: int) -> set[str]:
    return set(
        session.scalars(
            select(Membership.role).where(Membership.user_id == user_id, Membership.org_id == org_id)
        )
    )


def _deployment(session: Session, app_id: int):
    from .services import deployment_for  # services -> gate -> claims: import at call time

    dep_id = session.scalar(select(ApplicationRow.deployment_id).where(ApplicationRow.id == app_id))
    if dep_id is None:
        raise ActionRefused(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    return deployment_for(session, dep_id)


def _work_item(session: Session, app_id: int, stage: str, org_id: int, deployment) -> WorkItem:
    item = session.scalar(
        select(WorkItem).where(
            WorkItem.application_id == app_id, WorkItem.stage == stage, WorkItem.org_id == org_id
        )
    )
    if item is None:
        raise ActionRefused(f"「{deployment.model.label(stage)}」当前不在本单位待办中", stage=stage)
    return item


def claim(session: Session, clock: Clock, org_id: int, app_id: int, stage: str, user_id: int) -> ClaimView:
    """Claim a task of `org_id` for `user_id`. Raises NotPermitted, ActionRefused, ClaimedByColleague."""
    with UnitOfWork(session) as uow:
        deployment = _deployment(session, app_id)
        if stage not in deployment.model.stages or not _roles(
            session, user_id, org_id
        ) & deployment.model.roles(stage):
            raise NotPermitted("您不是本单位的审核人员，不能认领", stage=stage)
        _work_item(session, app_id, stage, org_id, deployment)
        current = holder(session, app_id, stage)
        if current is not None and current.user_id != user_id:
            raise ClaimedByColleague(current.user_name, current.claimed_at, stage=stage)
        version = session.scalar(select(ApplicationRow.version).where(ApplicationRow.id == app_id))
        session.execute(delete(TaskClaim).where(TaskClaim.application_id == app_id, TaskClaim.stage == stage))
        session.add(
            TaskClaim(
                application_id=app_id,
                stage=stage,
                org_id=org_id,
                user_id=user_id,
                app_version=version,
                claimed_at=clock.now(),
            )
        )
        session.flush()
        view = holder(session, app_id, stage)
        uow.commit()
    return view


def release(session: Session, org_id: int, app_id: int, stage: str, user_id: int) -> None:
    """Release a claim: one's own, or anyone's in the org for its admins. Raises NotPermitted."""
    with UnitOfWork(session) as uow:
        current = holder(session, app_id, stage)
        if current is None or current.org_id != org_id:
            uow.commit()
            return
        if current.user_id != user_id and "admin" not in _roles(session, user_id, org_id):
            raise NotPermitted(
                f"该事项由 {current.user_name} 认领，只有其本人或本单位管理员可以释放", stage=stage
            )
        session.execute(delete(TaskClaim).where(TaskClaim.application_id == app_id, TaskClaim.stage == stage))
        uow.commit()
