"""Use cases over persisted applications: deploy, start, complete a task, drafts, attachments. Each is one
unit of work.

Functions take a SQLAlchemy Session and a Clock plus primitives and return plain data; they commit (or roll
back) the session themselves. Queries for pages (inboxes, the application view) are in `queries`, the timer
sweep in `worker`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.accounts.models import Membership, Org, User
from engine.accounts.tiers import (
    acting_orgs,
    chain_key,
    committees_by_series,
    review_chain,
    unresolved_lanes,
)
from engine.audit.facts import FACTS_CHANGED, genesis_data
from engine.campaign import Problem as CampaignProblem
from engine.campaign_lint import lint_campaign
from engine.clock import Clock
from engine.db import dialect_name
from engine.deployment import ENGINE_VERSION, Deployment, build_deployment
from engine.dry_run import require_dry_run
from engine.errors import (
    ActionRefused,
    AlreadyHandled,
    CampaignError,
    ConfigError,
    FormInvalid,
    NotFound,
    OutsideWindow,
)
from engine.runtime import Actor, Application
from engine.stage_check import require_stages
from engine.stages import APPLICANT_TIER

from . import attachments, gate, history
from .duties import refuse_own_application
from .indexes import save_action, summary_fields, write_indexes
from .live import (
    CACHE,
    Live,
    StateIncident,
    acquire,
    index_signature,
    rebuild,
    record_incident,
    write_snapshot,
)
from .queries import ApplicationView, build_view, check_scope
from .tables import (
    ONE_OPEN_INDEX,
    OPEN_APPLICATION,
    ApplicationOrg,
    ApplicationRow,
    Attachment,
    AttachmentName,
    DeploymentRow,
    Draft,
    DueTimer,
    WorkItem,
)
from .uow import Prepared, UnitOfWork

_APPLICATION_TABLE = ApplicationRow.__table__
_DEPLOYMENTS: dict[str, Deployment] = {}  # deployments never change once stored: cache them by id
MAX_DRAFT_BYTES = 256 * 1024  # a declaration is a few KB; attachments are refs, not bytes


@dataclass(frozen=True)
class DeploymentInfo:
    id: str
    campaign_id: str
    created: bool  # False when these exact sources were stored before
    is_current: bool
    created_at: datetime


def deploy(
    session: Session,
    clock: Clock,
    sources: dict[str, str],
    actor_id: int | None = None,
    *,
    replace: bool = False,
) -> DeploymentInfo:
    """Store a deployment once by content hash and make it current for its campaign.

    Campaigns are distinct by id: other sources under an id already deployed are refused (a campaign file
    copied for a new year without a new `[campaign] id` would silently replace the old campaign) unless
    `replace` says the campaign's process is deliberately being replaced; its applications stay pinned.

    Raises ConfigError (BPMN/forms/campaign do not parse; a lane naming an org type of which no org is
    active), CampaignError (the campaign lint finds errors) or
    DryRunFailed (a path of the process errors, dead-ends or never reaches an end event: engine.dry_run).
    """
    deployment = build_deployment(sources)
    errors = [f for f in lint_campaign(deployment.campaign, model=deployment.model) if f.level == "error"]
    if errors:
        raise CampaignError(errors, file=deployment.campaign.source_path)
    require_stages(deployment)  # every stage has its form, window, deadline timer and lapse; names exist
    unresolved = unresolved_lanes(session, deployment.model.org_types, deployment.model.lane_names())
    if unresolved:  # a new tier's lane that no org could act in
        raise ConfigError("流程图不能部署：\n" + "\n".join(unresolved))
    known = session.get(DeploymentRow, deployment.id) is not None  # stored before: making it current again
    if not replace and not known:
        other = session.scalar(
            select(DeploymentRow.id)
            .where(DeploymentRow.campaign_id == deployment.campaign.id, DeploymentRow.id != deployment.id)
            .limit(1)
        )
        if other is not None:
            raise CampaignError(
                [
                    CampaignProblem(
                        deployment.campaign.source_path,
                        "campaign.id",
                        None,
                        f"批次编号 {deployment.campaign.id!r} 已被另一份部署（{other[:12]}）使用，而文件内容不同："
                        f"新一年的活动文件请在 [campaign] 中改用新的 id；确要替换本批次的流程，"
                        f"用 zhicheng deploy --replace（已有申请书仍按原部署办理）",
                    )
                ],
                file=deployment.campaign.source_path,
            )
    require_dry_run(deployment)  # every path of the process must run before anyone can start on it
    with UnitOfWork(session) as uow:
        row = session.get(DeploymentRow, deployment.id)
        created = row is None
        if created:
            row = DeploymentRow(
                id=deployment.id,
                campaign_id=deployment.campaign.id,
                process_id=deployment.process_id,
                spec_json=json.dumps(deployment.spec_json, ensure_ascii=False),
                sources_json=json.dumps(deployment.sources, ensure_ascii=False),
                deployed_by_id=actor_id,
                engine_version=deployment.engine_version,
                created_at=clock.now(),
                is_current=True,
            )
            session.add(row)
        session.execute(
            update(DeploymentRow)
            .where(DeploymentRow.campaign_id == deployment.campaign.id)
            .values(is_current=DeploymentRow.id == deployment.id)
            .execution_options(synchronize_session=False)
        )
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
    found = session.execute(
        select(DeploymentRow.sources_json, DeploymentRow.engine_version).where(
            DeploymentRow.id == deployment_id
        )
    ).first()
    if found is None:
        raise NotFound(f"部署 {deployment_id[:12]} 不存在", deployment_id=deployment_id)
    sources, version = found
    if version > ENGINE_VERSION:
        raise ConfigError(
            f"部署 {deployment_id[:12]} 由更新的引擎版本 {version} 部署，本程序（版本 {ENGINE_VERSION}）不能解释它：请升级",
            deployment_id=deployment_id,
        )
    return _DEPLOYMENTS.setdefault(deployment_id, build_deployment(json.loads(sources)))


def current_deployments(session: Session) -> list[Deployment]:
    """The current deployment of every campaign, newest first."""
    return [deployment_for(session, r.id) for r in _CURRENT_IDS.all(session)]


_CURRENT_IDS = Prepared(
    select(DeploymentRow.__table__.c.id)
    .where(DeploymentRow.__table__.c.is_current.is_(True))
    .order_by(DeploymentRow.__table__.c.created_at.desc(), DeploymentRow.__table__.c.campaign_id)
)


def stage_labels(session: Session) -> dict[str, str]:
    """Stage id -> Chinese label over every current deployment (the newest wins on a clash)."""
    labels: dict[str, str] = {}
    for deployment in reversed(current_deployments(session)):
        labels.update(deployment.model.labels())
    return labels


def org_stages(session: Session, org_type: str, roles: set[str]) -> list[tuple[str, str]]:
    """(stage id, label) of the stages an org of this type acts on with these roles, in process order, over
    every current deployment: read from the BPMN's lanes (`tier`, or `orgType` for a tier outside the walk up
    the org tree) and task roles, never listed here."""
    key = chain_key(org_type)
    out: dict[str, str] = {}
    for deployment in reversed(current_deployments(session)):
        model = deployment.model
        for stage_id in model.order:
            stage = model.stages[stage_id]
            acts = stage.tier == key or model.org_types.get(stage.tier) == org_type
            if not stage.by_applicant and acts and roles & stage.roles:
                out.setdefault(stage_id, stage.label)
    return list(out.items())


def batch_stages(session: Session) -> frozenset:
    """Stages reviewers may complete in a batch: org stages their reviewers act on, in any current campaign."""
    return frozenset(
        s.id
        for d in current_deployments(session)
        for s in d.model.stages.values()
        if not s.by_applicant and "reviewer" in s.roles
    )


def campaign_titles(session: Session) -> dict[str, str]:
    """Campaign id -> the notice's short title, over every current deployment (pages show it per row)."""
    return {
        d.campaign.id: f"{d.campaign.year}年 {d.campaign.notice_number}" for d in current_deployments(session)
    }


def submission_open(deployment: Deployment, now: datetime) -> bool:
    """True while the deployment's first (submission) stage window is open."""
    campaign, first = deployment.campaign, deployment.model.submission
    return campaign.opens_at(first) <= now < campaign.deadline(first)


def open_campaigns(session: Session, clock: Clock) -> list[Deployment]:
    """Current deployments taking new applications now (their submission window is open)."""
    now = clock.now()
    return [d for d in current_deployments(session) if submission_open(d, now)]


def campaign_for_start(session: Session, clock: Clock, campaign_id: str | None = None) -> Deployment:
    """The deployment a new application starts on: the chosen campaign, or the only open one.

    Raises OutsideWindow (no campaign, or not the chosen one, takes applications now), ActionRefused
    (several are open and none was chosen) or NotFound (nothing deployed).
    """
    current = current_deployments(session)
    if not current:
        raise NotFound("尚未部署申报流程：请先运行 zhicheng deploy")
    now = clock.now()
    if campaign_id:
        chosen = next((d for d in current if d.campaign.id == campaign_id), None)
        if chosen is None:
            raise NotFound(f"申报批次 {campaign_id!r} 不存在", campaign_id=campaign_id)
        candidates = [chosen]
    else:
        candidates = current
    open_now = [d for d in candidates if submission_open(d, now)]
    if not open_now:
        first = candidates[0]
        raise OutsideWindow(
            "现在不能开始申报：" + "；".join(f"{d.campaign.title}：{window_text(d)}" for d in candidates)
            if len(candidates) > 1
            else f"现在不能开始申报：{window_text(first)}",
            stage=first.model.submission,
            opens=first.campaign.opens_at(first.model.submission),
            deadline=first.campaign.deadline(first.model.submission),
        )
    if len(open_now) > 1:
        raise ActionRefused(
            "目前有多个申报批次正在受理，请先选择申报批次：" + "、".join(d.campaign.title for d in open_now),
            field="campaign_id",
        )
    return open_now[0]


def window_text(deployment: Deployment, stage: str | None = None) -> str:
    """A stage's window (default: submission) as the notice words it: 「…」时间为 2020年11月17日至11月23日."""
    stage = stage or deployment.model.submission
    w, label = deployment.campaign.window(stage), deployment.model.label(stage)
    return f"「{label}」时间为 {w.opens.year}年{w.opens.month}月{w.opens.day}日至{w.closes.month}月{w.closes.day}日"


def _duplicate(existing: int | None) -> ActionRefused:
    which = f"（编号 {existing}）" if existing is not None else ""
    return ActionRefused(
        f"您在本批次已有一份未办结的申请书{which}，不能重复申报；请在「我的申请书」中继续办理",
        application_id=existing,
    )


_OPEN_APPLICATION = Prepared(
    select(_APPLICATION_TABLE.c.id)
    .where(
        _APPLICATION_TABLE.c.applicant_id == bindparam("applicant_id"),
        _APPLICATION_TABLE.c.campaign_id == bindparam("campaign_id"),
        OPEN_APPLICATION,  # the partial unique index's own predicate (a literal list: prepared once)
    )
    .limit(1)
)


def open_application(session: Session, applicant_id: int, campaign_id: str) -> int | None:
    """The id of the person's unfinished application in a campaign, if any (one at a time)."""
    params = {"applicant_id": applicant_id, "campaign_id": campaign_id}
    return _OPEN_APPLICATION.scalar(session, params)


def start_application(
    session: Session, clock: Clock, applicant_id: int, unit_id: int, campaign_id: str | None = None
) -> int:
    """Start a declaration on the current deployment for an applicant of a unit; return its id.

    Raises NotFound (no deployment or user), OutsideWindow (the submission stage's window is not open),
    ChainIncomplete (the unit's review chain is broken) or ActionRefused (the applicant already has an
    application in this campaign that has not ended; the database's partial unique index holds this even
    when two requests race past the check below).
    """
    with UnitOfWork(session) as uow:
        deployment = campaign_for_start(session, clock, campaign_id)
        campaign, now = deployment.campaign, clock.now()
        # the applicant's name, an unfinished application of theirs here, and the units they work in: one read
        facts = _START_FACTS.all(session, {"user_id": applicant_id, "campaign_id": campaign.id})
        if not facts or facts[0].real_name is None:
            raise NotFound(f"用户（编号 {applicant_id}）不存在", user_id=applicant_id)
        real_name, existing = facts[0].real_name, facts[0].open_id
        if existing is not None:
            raise _duplicate(existing)
        bound = {f.unit_id: f.unit_name for f in facts if f.unit_id is not None}
        if bound and unit_id not in bound:  # a unit's own staff declare through it (engine.store.starting)
            raise FormInvalid(
                {"unit_id": f"所在单位：您是“{'、'.join(bound.values())}”的工作人员，只能通过本单位申报"}
            )
        chain = review_chain(session, unit_id)
        model = deployment.model  # lanes naming an org type add their tiers (README "Policy staff")
        chain.update(acting_orgs(session, unit_id, model.org_types, model.lane_names()))
        committees = committees_by_series(session)
        app = Application.start(
            deployment, clock, applicant_id=applicant_id, chain=chain, committees=committees
        )
        summary = summary_fields(app)
        # derived before the first write (the SQLite writer lock is held from the INSERT to the commit); no
        # snapshot: the started event rebuilds this state exactly (engine/store/README.md)
        signature = index_signature(app)
        try:
            app_id = _insert_application(tuple(summary)).scalar(
                session,
                {
                    "applicant_id": applicant_id,
                    "campaign_id": campaign.id,
                    "deployment_id": deployment.id,
                    "unit_id": chain["unit"],
                    "tier2_id": chain["tier2"],
                    "tier3_id": chain["tier3"],
                    "version": 1,
                    "applicant_name": real_name,
                    "created_at": now,
                    "updated_at": now,
                    "head_seq": 0,
                    **summary,
                },
            )
        except IntegrityError as exc:
            if not _is_one_open_violation(exc):
                raise
            session.rollback()
            raise _duplicate(open_application(session, applicant_id, campaign.id)) from None
        if model.org_types:
            session.execute(
                insert(ApplicationOrg),
                [{"application_id": app_id, "tier": t, "org_id": chain[t]} for t in model.org_types],
            )
        started = history.chain_event(
            app_id,
            0,
            history.GENESIS,
            at=now,
            event_type="started",
            actor_id=applicant_id,
            org_id=chain["unit"],
            stage=summary["stage"],
            # facts verify checks; `committees` is what routes the declaration to its series' committee
            data={
                **genesis_data(deployment.id, campaign.id, chain, real_name),
                "committees": committees,
            },
        )
        _SET_HEAD.rowcount(session, {"app_id": app_id, "head_hash": started["hash"]})
        history.insert_events(session, [started])
        app.reset_on_error = False
        live = Live(app, 1, 1, started["hash"], 0, None, summary)
        live.index = write_indexes(session, app_id, app, ((), ()), after=signature)
        uow.commit()
    CACHE.put(app_id, live)
    return app_id


def _start_facts():
    """The applicant's name, the id of their unfinished application in the campaign (one at most), and one
    row per active unit they are a member of (accounts.orgs.units_of_member's rule), by unit id."""
    user, membership, org = User.__table__, Membership.__table__, Org.__table__
    open_id = (
        select(_APPLICATION_TABLE.c.id)
        .where(
            _APPLICATION_TABLE.c.applicant_id == bindparam("user_id"),
            _APPLICATION_TABLE.c.campaign_id == bindparam("campaign_id"),
            OPEN_APPLICATION,
        )
        .limit(1)
        .scalar_subquery()
    )
    units = membership.join(
        org, and_(org.c.id == membership.c.org_id, org.c.type == "unit", org.c.status == "active")
    )
    return (
        select(
            user.c.real_name,
            open_id.label("open_id"),
            org.c.id.label("unit_id"),
            org.c.name.label("unit_name"),
        )
        .select_from(user.outerjoin(units, membership.c.user_id == user.c.id))
        .where(user.c.id == bindparam("user_id"))
        .distinct()
        .order_by(org.c.id)
    )


_START_FACTS = Prepared(_start_facts())
_INSERTS: dict[tuple, Prepared] = {}
_START_COLUMNS = (
    "applicant_id",
    "campaign_id",
    "deployment_id",
    "unit_id",
    "tier2_id",
    "tier3_id",
    "version",
    "applicant_name",
    "created_at",
    "updated_at",
    "head_seq",
)


def _insert_application(summary_keys: tuple) -> Prepared:
    """`INSERT INTO application (…) RETURNING id`, compiled once per set of summary columns."""
    found = _INSERTS.get(summary_keys)
    if found is None:
        keys = (*_START_COLUMNS, *summary_keys)
        found = _INSERTS[summary_keys] = Prepared(
            insert(ApplicationRow.__table__).returning(ApplicationRow.__table__.c.id), keys
        )
    return found


_SET_HEAD = Prepared(
    update(ApplicationRow.__table__)
    .where(ApplicationRow.__table__.c.id == bindparam("app_id"))
    .values(head_seq=1, head_hash=bindparam("head_hash"))
)


def _is_one_open_violation(exc: IntegrityError) -> bool:
    """PostgreSQL names the index; SQLite names the columns."""
    text = str(exc.orig)
    return ONE_OPEN_INDEX in text or "application.applicant_id, application.campaign_id" in text


# The application columns an action reads: scope, version check, the chain head and the summary that a
# rebuilt workflow must agree with. One Core SELECT, no ORM identity map on the hot path.
_APPLICATION = ApplicationRow.__table__
ACTION_COLUMNS = tuple(
    _APPLICATION.c[name]
    for name in (
        "id",
        "applicant_id",
        "deployment_id",
        "unit_id",
        "tier2_id",
        "tier3_id",
        "committee_id",
        "waiting_org_id",
        "status",
        "stage",
        "version",
        "head_seq",
        "head_hash",
    )
)


_ACTION_SELECT = select(*ACTION_COLUMNS).where(_APPLICATION.c.id == bindparam("app_id"))
_DUE = DueTimer.__table__
# The timer sweep's claim: the row locked where the database can, and whether a timer is still due.
_TIMER_SELECT = select(
    *ACTION_COLUMNS,
    exists()
    .where(_DUE.c.application_id == _APPLICATION.c.id, _DUE.c.next_attempt_at <= bindparam("now"))
    .label("timer_due"),
).where(_APPLICATION.c.id == bindparam("app_id"))


# (timer_due column, row lock) -> the statement; FOR UPDATE SKIP LOCKED only where the database has it
_ACTION_ROWS = {
    (due, lock): Prepared(query.with_for_update(skip_locked=True) if lock else query)
    for due, query in ((False, _ACTION_SELECT), (True, _TIMER_SELECT))
    for lock in (False, True)
}


_ACTION_ROW_FOR_TASK = Prepared(
    select(*ACTION_COLUMNS, *gate.task_columns)
    .select_from(gate.task_join(_APPLICATION))
    .where(_APPLICATION.c.id == bindparam("app_id"))
)


def action_row(session: Session, app_id: int, *, lock: bool = False, due_at: datetime | None = None):
    """The application's action columns (None if absent), prepared once. `lock` claims the row where the
    database can; `due_at` adds `timer_due`: whether a timer of it is due then (the sweep's claim)."""
    lock = lock and dialect_name(session) == "postgresql"
    params = {"app_id": app_id} if due_at is None else {"app_id": app_id, "now": due_at}
    return _ACTION_ROWS[due_at is not None, lock].first(session, params)


def load(session: Session, app_id: int, clock: Clock) -> tuple:
    """The application's action row and its workflow rebuilt from snapshot and history (read-only use: the
    cache is not touched). Raises NotFound, StateIncident."""
    row = action_row(session, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    return row, rebuild(session, row, deployment_for(session, row.deployment_id), clock).app


def acquire_live(session: Session, clock: Clock, row, now: datetime) -> Live:
    """The live workflow of an action row (cache or rebuild). Entries pushed out of the cache to make
    room get their snapshot written in this unit of work when it is behind. A disagreement between
    snapshot and history is recorded as an incident and raised (StateIncident)."""
    deployment = deployment_for(session, row.deployment_id)
    try:
        live = acquire(session, row, deployment, clock)
    except StateIncident as exc:
        record_incident(session, row.id, str(exc), now)
        raise
    if live.index is None:  # rebuilt: make room in the cache for it
        for evicted_id, evicted in CACHE.make_room(row.id):
            if evicted.snapshot_seq < evicted.head_seq:
                write_snapshot(session, evicted_id, evicted)
    return live


def timer_events(fired, status) -> list[dict]:
    """One history event per fired timer, with the status it left."""
    return [
        {
            "at": None,
            "event_type": "timer_fired",
            "stage": timer.name,
            "data": {
                "due_at": timer.due_at.isoformat(),
                "status": status.status,
                "responsible_org": status.responsible_org,
            },
        }
        for timer in fired
    ]


def complete_task(
    session: Session,
    clock: Clock,
    app_id: int,
    stage: str,
    actor: Actor,
    data: dict,
    expected_version: int | None = None,
) -> ApplicationView:
    """Complete the ready task at `stage` of an application as `actor`; return the application afterwards.

    Raises NotFound (no such application, or outside the actor's scope), AlreadyHandled (someone acted first:
    version conflict), and the runtime's refusals: NotPermitted, OutsideWindow, FormInvalid, ActionRefused.
    """
    perform_task(session, clock, app_id, stage, actor, data, expected_version)
    return build_view(session, app_id)


def perform_task(
    session: Session,
    clock: Clock,
    app_id: int,
    stage: str,
    actor: Actor,
    data: dict,
    expected_version: int | None = None,
) -> int:
    """complete_task without building the view (simulation, benchmarks); returns the new version."""
    with UnitOfWork(session) as uow:
        # the action row with the stage's work items and their claims (the gate's facts): one statement
        rows = _ACTION_ROW_FOR_TASK.all(session, {"app_id": app_id, "stage": stage})
        if not rows:
            raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
        row = rows[0]
        check_scope(session, row, actor.user_id, memberships={org for org, _ in actor.memberships})
        # segregation of duties, whatever the roles: never a review of one's own application
        refuse_own_application(
            deployment_for(session, row.deployment_id), stage, actor.user_id, row.applicant_id, app_id
        )
        if row.applicant_id != actor.user_id:  # an org's task: the gate names the refusal and its date
            gate.check(
                session,
                clock.now(),
                app_id,
                stage,
                {org for org, _ in actor.memberships},
                actor.user_id,
                deployment_for(session, row.deployment_id),
                row.applicant_id,
                [r for r in rows if r.org_id is not None],
            )
        committee_before = row.committee_id
        if expected_version is not None and expected_version != row.version:
            raise AlreadyHandled("该申请书已被他人处理，请刷新后重试", application_id=app_id)
        live = acquire_live(session, clock, row, clock.now())
        # from here on `live` is out of the cache: on any error it is dropped and rebuilt next time
        completion = live.app.complete(stage, actor, data)
        now, status = completion.at, live.app.status()
        events = timer_events(completion.fired, status)
        events.append(
            {
                "event_type": "completed",
                "actor_id": actor.user_id,
                "org_id": completion.org_id,
                "stage": stage,
                "data": {
                    "form": completion.data,
                    "actor_name": actor.name,
                    "status": status.status,
                    "next_stage": status.stage,
                },
            }
        )
        committee = live.app.chain.get("committee")
        if committee != committee_before:  # the declaration's series chose its committee: a recorded fact
            events.append(
                {
                    "event_type": FACTS_CHANGED,
                    "actor_id": actor.user_id,
                    "org_id": completion.org_id,
                    "stage": stage,
                    "data": {"facts": {"committee_id": committee}, "reason": "按申报系列确定受理的评委会"},
                }
            )
        new_version = save_action(session, app_id, live, [{**e, "at": now} for e in events], now)
        if live.app.model.stages[stage].by_applicant:  # submitted: the draft has become the declaration
            _DELETE_DRAFT.rowcount(session, {"app_id": app_id})
        uow.commit()
    CACHE.put(app_id, live)
    return new_version


_DELETE_DRAFT = Prepared(
    delete(Draft.__table__).where(Draft.__table__.c.application_id == bindparam("app_id"))
)


@dataclass(frozen=True)
class DraftView:
    application_id: int
    data: dict
    saved_at: datetime
    saved_by_id: int


def _own_application(session: Session, app_id: int, user_id: int) -> ApplicationRow:
    row = session.get(ApplicationRow, app_id)
    if row is None or row.applicant_id != user_id:  # a draft is the applicant's alone: never leak others'
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    return row


def save_draft(session: Session, clock: Clock, app_id: int, user_id: int, data: dict) -> DraftView:
    """Keep the applicant's typed declaration (replacing the previous draft); return it.

    Raises NotFound (no such application, or not the user's own), ActionRefused (the application is no longer
    waiting on the applicant: drafts are for the applicant's own stages only) or FormInvalid (the
    draft is too large).
    """
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    if len(text.encode()) > MAX_DRAFT_BYTES:
        message = f"草稿过大（超过 {MAX_DRAFT_BYTES // 1024} KB），未保存；请精简填写内容"
        raise FormInvalid({"draft": message}, message=message)
    with UnitOfWork(session) as uow:
        _own_application(session, app_id, user_id)
        waiting = session.scalar(
            select(WorkItem.stage)
            .where(WorkItem.application_id == app_id, WorkItem.tier == APPLICANT_TIER)
            .limit(1)
        )
        if waiting is None:
            raise ActionRefused("申请书已提交，当前不需要您填写，草稿未保存", application_id=app_id)
        now = clock.now()
        draft = session.get(Draft, app_id)
        if draft is None:
            draft = Draft(application_id=app_id)
            session.add(draft)
        draft.data_json, draft.saved_at, draft.saved_by_id = text, now, user_id
        uow.commit()
    return DraftView(app_id, data, now, user_id)


def load_draft(session: Session, app_id: int, user_id: int) -> DraftView | None:
    """The applicant's saved draft of an application, or None. Raises NotFound (absent or not theirs)."""
    _own_application(session, app_id, user_id)
    draft = session.get(Draft, app_id)
    if draft is None:
        return None
    return DraftView(app_id, json.loads(draft.data_json), draft.saved_at, draft.saved_by_id)


def record_attachment(
    session: Session,
    clock: Clock,
    *,
    sha256: str,
    size: int,
    mime: str,
    original_name: str,
    uploaded_by: int | None,
    application_id: int | None = None,
) -> bool:
    """Record stored upload bytes by content hash; True if new. Idempotent: the first upload's row is kept.

    Every upload by a known user also grants that user the use of these bytes in `application_id`.

    Two requests uploading the same bytes at once both succeed (INSERT … ON CONFLICT DO NOTHING).
    """
    values = {
        "sha256": sha256,
        "size": size,
        "mime": mime,
        "original_name": original_name[:255],
        "uploaded_by_id": uploaded_by,
        "created_at": clock.now(),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    with UnitOfWork(session) as uow:
        created = (
            session.scalar(
                insert(Attachment).values(**values).on_conflict_do_nothing().returning(Attachment.sha256)
            )
            is not None
        )
        if uploaded_by is not None:  # each uploader keeps their own name for the same bytes (the latest)
            session.execute(
                insert(AttachmentName)
                .values(
                    sha256=sha256,
                    user_id=uploaded_by,
                    original_name=original_name[:255],
                    created_at=clock.now(),
                )
                .on_conflict_do_update(
                    index_elements=["sha256", "user_id"], set_={"original_name": original_name[:255]}
                )
            )
        if uploaded_by is not None:
            attachments.grant(
                session,
                values["created_at"],
                sha256=sha256,
                user_id=uploaded_by,
                application_id=application_id,
            )
        uow.commit()
    return created
