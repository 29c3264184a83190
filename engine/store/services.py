"""Use cases over persisted applications: deploy, start, complete a task. Each is one unit of work.

Functions take a SQLAlchemy Session and a Clock plus primitives and return plain data; they commit (or roll
back) the session themselves. Queries for pages (inboxes, the application view) are in `queries`, the timer
sweep in `worker`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.accounts.models import User
from engine.accounts.tiers import review_chain
from engine.campaign_lint import lint_campaign
from engine.clock import Clock
from engine.deployment import Deployment, build_deployment
from engine.errors import ActionRefused, AlreadyHandled, CampaignError, NotFound
from engine.runtime import Actor, Application

from . import history
from .indexes import bump_version, summary_fields, write_indexes, write_state
from .queries import ApplicationView, build_view, check_scope
from .tables import ENDED_STATUSES, ApplicationRow, DeploymentRow, WorkflowState
from .uow import UnitOfWork

_DEPLOYMENTS: dict[str, Deployment] = {}  # deployments never change once stored: cache them by id


@dataclass(frozen=True)
class DeploymentInfo:
    id: str
    campaign_id: str
    created: bool  # False when these exact sources were stored before
    is_current: bool
    created_at: datetime


def deploy(session: Session, clock: Clock, sources: dict[str, str], actor_id: int | None = None) -> DeploymentInfo:
    """Store a deployment once by content hash and make it current for its campaign.

    Raises ConfigError (BPMN/forms/campaign do not parse) or CampaignError (the campaign lint finds errors).
    """
    deployment = build_deployment(sources)
    errors = [f for f in lint_campaign(deployment.campaign) if f.level == "error"]
    if errors:
        raise CampaignError(errors, file=deployment.campaign.source_path)
    with UnitOfWork(session) as uow:
        row = session.get(DeploymentRow, deployment.id)
        created = row is None
        if created:
            row = DeploymentRow(id=deployment.id, campaign_id=deployment.campaign.id,
                                process_id=deployment.process_id,
                                spec_json=json.dumps(deployment.spec_json, ensure_ascii=False),
                                sources_json=json.dumps(deployment.sources, ensure_ascii=False),
                                deployed_by_id=actor_id, created_at=clock.now(), is_current=True)
            session.add(row)
        session.execute(update(DeploymentRow).where(DeploymentRow.campaign_id == deployment.campaign.id)
                        .values(is_current=DeploymentRow.id == deployment.id)
                        .execution_options(synchronize_session=False))
        session.flush()
        info = DeploymentInfo(row.id, row.campaign_id, created, True, row.created_at)
        uow.commit()
    _DEPLOYMENTS.setdefault(deployment.id, deployment)
    return info


def current_deployment(session: Session, campaign_id: str | None = None) -> Deployment:
    """The current deployment (of a campaign, else the latest current one). Raises NotFound."""
    query = select(DeploymentRow.id).where(DeploymentRow.is_current.is_(True))
    if campaign_id:
        query = query.where(DeploymentRow.campaign_id == campaign_id)
    dep_id = session.scalar(query.order_by(DeploymentRow.created_at.desc()).limit(1))
    if dep_id is None:
        raise NotFound("尚未部署申报流程：请先运行 zhicheng deploy", campaign_id=campaign_id)
    return deployment_for(session, dep_id)


def deployment_for(session: Session, deployment_id: str) -> Deployment:
    """A stored deployment rebuilt from its sources (cached in-process). Raises NotFound."""
    cached = _DEPLOYMENTS.get(deployment_id)
    if cached is not None:
        return cached
    sources = session.scalar(select(DeploymentRow.sources_json).where(DeploymentRow.id == deployment_id))
    if sources is None:
        raise NotFound(f"部署 {deployment_id[:12]} 不存在", deployment_id=deployment_id)
    return _DEPLOYMENTS.setdefault(deployment_id, build_deployment(json.loads(sources)))


def start_application(session: Session, clock: Clock, applicant_id: int, unit_id: int) -> int:
    """Start a declaration on the current deployment for an applicant of a unit; return its id.

    Raises NotFound (no deployment or user), ChainIncomplete (the unit's review chain is broken) or
    ActionRefused (the applicant already has an application in this campaign that has not ended).
    """
    with UnitOfWork(session) as uow:
        deployment = current_deployment(session)
        user = session.get(User, applicant_id)
        if user is None:
            raise NotFound(f"用户（编号 {applicant_id}）不存在", user_id=applicant_id)
        existing = session.scalar(select(ApplicationRow.id).where(
            ApplicationRow.applicant_id == applicant_id, ApplicationRow.campaign_id == deployment.campaign.id,
            ApplicationRow.status.not_in(ENDED_STATUSES)).limit(1))
        if existing is not None:
            raise ActionRefused(f"您在本批次已有一份申请书（编号 {existing}），不能重复申报",
                                application_id=existing)
        chain = review_chain(session, unit_id)
        app = Application.start(deployment, clock, applicant_id=applicant_id, chain=chain)
        now = clock.now()
        row = ApplicationRow(applicant_id=applicant_id, campaign_id=deployment.campaign.id,
                             deployment_id=deployment.id, unit_id=chain["unit"], tier2_id=chain["tier2"],
                             tier3_id=chain["tier3"], committee_id=chain["committee"], version=1,
                             applicant_name=user.real_name, created_at=now, updated_at=now,
                             **summary_fields(app))
        session.add(row)
        session.flush()
        write_state(session, row.id, app, new=True)
        write_indexes(session, row.id, app)
        history.append(session, row.id, at=now, event_type="started", actor_id=applicant_id,
                       org_id=chain["unit"], stage=row.stage,
                       data={"chain": chain, "deployment_id": deployment.id})
        app_id = row.id
        uow.commit()
    return app_id


def load(session: Session, app_id: int, clock: Clock) -> tuple[ApplicationRow, Application]:
    """The application row and its restored workflow. Raises NotFound."""
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    state = session.scalar(select(WorkflowState.state_json).where(WorkflowState.application_id == app_id))
    return row, Application.restore(deployment_for(session, row.deployment_id), state, clock)


def record_timers(session: Session, app_id: int, app: Application, fired, now: datetime) -> None:
    """One history event per fired timer."""
    status = app.status()
    for timer in fired:
        history.append(session, app_id, at=now, event_type="timer_fired", stage=timer.name,
                       data={"due_at": timer.due_at.isoformat(), "status": status.status,
                             "responsible_org": status.responsible_org})


def complete_task(session: Session, clock: Clock, app_id: int, stage: str, actor: Actor, data: dict,
                  expected_version: int | None = None) -> ApplicationView:
    """Complete the ready task at `stage` of an application as `actor`; return the application afterwards.

    Raises NotFound (no such application, or outside the actor's scope), AlreadyHandled (someone acted first:
    version conflict), and the runtime's refusals: NotPermitted, OutsideWindow, FormInvalid, ActionRefused.
    """
    perform_task(session, clock, app_id, stage, actor, data, expected_version)
    return build_view(session, app_id)


def perform_task(session: Session, clock: Clock, app_id: int, stage: str, actor: Actor, data: dict,
                 expected_version: int | None = None) -> int:
    """complete_task without building the view (simulation, benchmarks); returns the new version."""
    with UnitOfWork(session) as uow:
        row, app = load(session, app_id, clock)
        check_scope(session, row, actor.user_id, memberships={org for org, _ in actor.memberships})
        version = row.version
        if expected_version is not None and expected_version != version:
            raise AlreadyHandled("该申请书已被他人处理，请刷新后重试", application_id=app_id)
        completion = app.complete(stage, actor, data)
        now = completion.at
        new_version = bump_version(session, app_id, version, app, now)
        write_state(session, app_id, app)
        write_indexes(session, app_id, app)
        record_timers(session, app_id, app, completion.fired, now)
        status = app.status()
        history.append(session, app_id, at=now, event_type="completed", actor_id=actor.user_id,
                       org_id=completion.org_id, stage=stage,
                       data={"form": completion.data, "actor_name": actor.name, "status": status.status,
                             "next_stage": status.stage})
        uow.commit()
    return new_version
