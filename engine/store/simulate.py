"""A whole campaign on a simulated clock against a real database: many applicants, a realistic mix.

Creates a throwaway org tree and people (prefix `sim`) if they are missing, starts one application per
applicant, then walks the clock through the campaign twice a day, firing timers and letting each person act
at a random moment of their window: returns at each tier, lapses, municipal units without tier 2, not
recommended, no-shows at the onsite desk.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import yaml
from sqlalchemy import and_, func, insert, or_, select

from calendars import TZ
from engine.accounts.models import Membership, Org, User
from engine.clock import SimulatedClock
from engine.db import LockStats, lock_stats
from engine.deployment import read_sources
from engine.errors import ActionRefused, NotFound
from engine.paths import bpmn_dir
from engine.runtime import Actor

from . import live, services, worker
from .tables import ApplicationRow, HistoryEvent, WorkItem
from .uow import connections

START = datetime(2020, 11, 17, 9, tzinfo=TZ)
END = datetime(2020, 12, 27, 9, tzinfo=TZ)
OPINION = "经审核符合申报条件，同意推荐。"
CONFIRM = {
    "decision": "approve",
    "review_form_copies": 2,
    "notice_form_copies": 15,
    "fee_paid": True,
    "receipt_number": "CQ2020-0001",
}


@dataclass
class SimulationReport:
    applicants: int
    actions: int = 0
    refused: int = 0
    timers_fired: int = 0
    outcomes: Counter = field(default_factory=Counter)
    plans: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    lock: LockStats = field(default_factory=LockStats)  # the SQLite writer lock, summed over the workers


@dataclass
class _Tree:
    units: list[int]
    staff: dict[int, Actor]  # org id -> its reviewer (unit: admin; committee: reviewer)
    desk: Actor
    applicants: list[tuple[int, int]]  # (user id, unit id)


def _org(session, now, name, org_type, parent=None):
    org = Org(
        type=org_type,
        name=name,
        parent_id=parent,
        status="active",
        contact_person=f"{name}联系人",
        contact_phone="023-60000000",
        created_at=now,
    )
    session.add(org)
    session.flush()
    return org.id


def _user(session, now, username, real_name, org_id=None, role=None):
    user = User(username=username, real_name=real_name, password_hash="!", created_at=now)  # cannot log in
    session.add(user)
    session.flush()
    if org_id is not None:
        session.add(Membership(user_id=user.id, org_id=org_id, role=role))
    return user.id


def ensure_tree(session, clock, applicants: int, prefix: str = "sim") -> _Tree:
    """The simulation's org tree and people, created once per prefix; more applicants are added as needed."""
    now = clock.now()
    committee = session.scalar(select(Org.id).where(Org.name == f"{prefix}评委会"))
    if committee is None:
        committee = _org(session, now, f"{prefix}评委会", "committee")
        _user(session, now, f"{prefix}-committee", "评委会工作人员", committee, "reviewer")
        _user(session, now, f"{prefix}-desk", "现场确认窗口", committee, "desk")
        for d in range(3):
            hr = _org(session, now, f"{prefix}区{d}职改办", "district_hr_office", committee)
            for kind in ("district_dept", "district_dept", "hr_agency"):
                _org(session, now, f"{prefix}区{d}{kind}{hr}", kind, hr)
        for m in range(2):
            _org(session, now, f"{prefix}市级主管部门{m}", "municipal_dept", committee)
        session.flush()
        parents = list(
            session.scalars(
                select(Org.id).where(
                    Org.name.like(f"{prefix}%"),
                    Org.type.in_(("district_dept", "hr_agency", "municipal_dept")),
                )
            )
        )
        for u in range(40):
            _org(session, now, f"{prefix}单位{u}", "unit", parents[u % len(parents)])
        for org_id, org_type in session.execute(
            select(Org.id, Org.type).where(Org.name.like(f"{prefix}%"), Org.type != "committee")
        ).all():
            _user(
                session,
                now,
                f"{prefix}-staff-{org_id}",
                f"审核员{org_id}",
                org_id,
                "admin" if org_type == "unit" else "reviewer",
            )
    units = list(session.scalars(select(Org.id).where(Org.name.like(f"{prefix}单位%")).order_by(Org.id)))
    have = session.scalar(select(func.count(User.id)).where(User.username.like(f"{prefix}-app-%")))
    for first in range(have, applicants, 5000):  # one statement per 5000 people: 100k in seconds
        session.execute(
            insert(User),
            [
                {
                    "username": f"{prefix}-app-{i:06d}",
                    "real_name": f"申报人{i}",
                    "password_hash": "!",  # cannot log in
                    "is_operator": False,
                    "is_auditor": False,
                    "failed_logins": 0,
                    "created_at": now,
                }
                for i in range(first, min(first + 5000, applicants))
            ],
        )
    session.commit()
    staff, desk = {}, None
    rows = session.execute(
        select(Membership.user_id, Membership.org_id, Membership.role, User.real_name)
        .join(User, User.id == Membership.user_id)
        .where(User.username.like(f"{prefix}-%"))
    )
    for user_id, org_id, role, name in rows:
        actor = Actor(user_id, frozenset({(org_id, role)}), name)
        if role == "desk":
            desk = actor
        else:
            staff[org_id] = actor
    people = session.scalars(
        select(User.id).where(User.username.like(f"{prefix}-app-%")).order_by(User.username).limit(applicants)
    )
    return _Tree(units, staff, desk, [(uid, units[i % len(units)]) for i, uid in enumerate(people)])


def _plan(rng: random.Random) -> tuple[str, str | None]:
    """(what happens, at which stage) for one applicant."""
    r = rng.random()
    for limit, plan in (
        (0.04, ("lapse", "applicant_submit")),
        (0.12, ("return", "unit_review")),
        (0.17, ("return", "tier2_review")),
        (0.21, ("return", "tier3_review")),
        (0.24, ("return", "committee_review")),
        (0.27, ("not_recommend", "unit_report")),
        (0.29, ("lapse", "tier2_review")),
        (0.31, ("lapse", "tier3_review")),
        (0.34, ("lapse", "onsite_confirm")),
    ):
        if r < limit:
            return plan
    return ("straight", None)


def _form(stage: str, plan, returned: set, app_id: int, declaration: dict) -> dict:
    kind, at_stage = plan
    if stage in ("applicant_submit", "applicant_correct"):
        return declaration
    if stage == "onsite_confirm":
        return CONFIRM
    if stage == at_stage and app_id not in returned:
        if kind == "return":
            returned.add(app_id)
            return {
                "decision": "return",
                "opinion": "材料不完整，请补正。",
                "reason": "业绩证明材料缺少盖章页，请补正后重新提交。",
            }
        if kind == "not_recommend":
            return {
                "decision": "not_recommend",
                "opinion": "公示期间收到实名异议，经核实不予上报。",
                "reason": "公示期间收到实名异议，经核实不予上报。",
            }
    return {"decision": "approve", "opinion": OPINION}


def simulate(
    session_factory,
    applicants: int,
    seed: int = 2020,
    on_step=None,
    prefix: str = "sim",
    *,
    workers: int = 1,
    database_url: str | None = None,
    cohort: int | None = None,
) -> SimulationReport:
    """Run the 2020 campaign for `applicants` people; `on_step(done, total)` reports progress in clock steps
    (each cohort walks every step; with several workers a cohort's steps are reported when it finishes).

    Applicants are taken in cohorts (at most the live cache's size, so a cohort's workflows stay cached from
    start to end); each cohort walks the campaign's clock on its own. With `workers` > 1 the cohorts are
    shared out over that many processes, each with its own engine on `database_url`. Each applicant's plan
    and choices come from its own random stream (seed, applicant number), so the outcome does not depend on
    the number of workers or the cohort size. A run that was killed is resumed by running it again:
    applications that exist are reused and each cohort's clock restarts at its latest recorded event.
    """
    began = time.perf_counter()
    clock = SimulatedClock(START)
    with session_factory() as session:
        try:
            deployment = services.current_deployment(session)
        except NotFound:
            services.deploy(session, clock, read_sources())
            deployment = services.current_deployment(session)
        tree = ensure_tree(session, clock, applicants, prefix)
    size = cohort or max(1, min(live.CACHE.capacity, -(-applicants // max(1, workers))))
    members = [(i, uid, unit) for i, (uid, unit) in enumerate(tree.applicants)]
    jobs = [
        CohortJob(k, members[first:last], seed, prefix, deployment.campaign.id)
        for k, (first, last) in enumerate(cohort_bounds(len(members), size, workers if cohort is None else 1))
    ]
    report = SimulationReport(applicants)
    apps: list[int] = []
    per_cohort, done = len(_steps()), [0]

    def progress(steps: int = 1) -> None:
        done[0] += steps
        if on_step:
            on_step(done[0], per_cohort * len(jobs))

    def collect(result: CohortResult) -> None:
        report.actions += result.actions
        report.refused += result.refused
        report.timers_fired += result.timers_fired
        report.plans.update(result.plans)
        report.lock.add(result.lock)
        apps.extend(result.apps)

    if workers <= 1:
        for job in jobs:
            collect(run_cohort(session_factory, tree, job, on_step=progress))
    else:
        if not database_url:
            raise ValueError("simulate with several workers needs the database URL")
        context = multiprocessing.get_context("spawn")  # each process builds its own engine and cache
        with context.Pool(workers, initializer=_worker_init, initargs=(database_url, tree)) as pool:
            for result in pool.imap_unordered(_worker_run, jobs):
                collect(result)
                progress(per_cohort)
    with session_factory() as session:
        for first in range(0, len(apps), 5000):
            for status, count in session.execute(
                select(ApplicationRow.status, func.count())
                .where(ApplicationRow.id.in_(apps[first : first + 5000]))
                .group_by(ApplicationRow.status)
            ):
                report.outcomes[status] += count
    report.seconds = time.perf_counter() - began
    return report


def cohort_bounds(total: int, size: int, workers: int) -> list[tuple[int, int]]:
    """Cohorts of `size` applicants; with several workers the last `workers` cohorts' worth is cut into
    quarter-size cohorts, so that at the end no process idles for a whole cohort while another finishes
    its last one (each cohort walks the whole campaign: its time grows with its size)."""
    bounds = [(first, min(first + size, total)) for first in range(0, total, size)]
    if workers <= 1 or len(bounds) <= workers:
        return bounds
    tail_from = bounds[-workers][0]
    small = max(1, size // 4)
    return bounds[:-workers] + [(f, min(f + small, total)) for f in range(tail_from, total, small)]


@dataclass(frozen=True)
class CohortJob:
    index: int
    members: list  # (applicant number, user id, unit id)
    seed: int
    prefix: str
    campaign_id: str


@dataclass
class CohortResult:
    apps: list[int]
    actions: int = 0
    refused: int = 0
    timers_fired: int = 0
    plans: Counter = field(default_factory=Counter)
    lock: LockStats = field(default_factory=LockStats)


_WORKER: dict = {}


def _worker_init(database_url: str, tree: _Tree) -> None:
    from sqlalchemy.orm import sessionmaker

    from engine.db import make_engine

    _WORKER["factory"] = sessionmaker(make_engine(database_url), expire_on_commit=False)
    _WORKER["tree"] = tree
    batch_collector()


# Young-generation size of a batch process's garbage collector (CPython's default: 700 allocations).
BATCH_GC_THRESHOLD = (3000, 10, 10)


def batch_collector() -> None:
    """Tune this process's garbage collector for a batch of applications: each simulate worker, and the
    `zhicheng simulate` command itself when it runs the cohorts alone (a library caller keeps its own).

    With CPython's default thresholds the collector ran about once per 1.4 applications and, every few
    hundred, traversed the whole heap — the live cache's thousand workflows with it: 8 % of a simulate's
    CPU (2,000 applicants, one process: 3.3 s of 43). What exists after set-up (modules, the deployment's
    parsed diagrams) is frozen out of every collection, and the young generation is collected every 3,000
    allocations instead of 700: the collector's time falls to about 0.6 s. Cyclic garbage (an evicted
    workflow's task tree) is still collected, in fewer passes: peak RSS of 4,000 applicants in one process
    232 → 268 MiB (10,000 allocations doubled it). ZHICHENG_BATCH_GC=0 keeps CPython's defaults (A/B
    measurements only)."""
    if os.environ.get("ZHICHENG_BATCH_GC", "1") == "0":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*BATCH_GC_THRESHOLD)


def _worker_run(job: CohortJob) -> CohortResult:
    return run_cohort(_WORKER["factory"], _WORKER["tree"], job)


def _steps() -> list[datetime]:
    steps, day = [], START
    while day < END:
        steps += [day, day.replace(hour=14)]
        day += timedelta(days=1)
    return steps


def run_cohort(session_factory, tree: _Tree, job: CohortJob, on_step=None) -> CohortResult:
    """One cohort through the whole campaign on its own clock (resuming where a killed run stopped);
    `on_step()` after each clock step."""
    declaration = _declaration()
    lock_before = lock_stats()
    rngs = {}
    plans: dict[int, tuple] = {}
    result = CohortResult([])
    clock = SimulatedClock(START)
    users = [uid for _, uid, _ in job.members]
    with connections(session_factory)() as session:  # Core connections: no ORM on the hot path
        existing = dict(
            session.execute(
                select(ApplicationRow.applicant_id, ApplicationRow.id).where(
                    ApplicationRow.applicant_id.in_(users), ApplicationRow.campaign_id == job.campaign_id
                )
            ).all()
        )
        resume_at = None
        if existing:
            resume_at = session.scalar(
                select(func.max(HistoryEvent.at)).where(HistoryEvent.application_id.in_(existing.values()))
            )
        for number, user_id, unit_id in job.members:
            rng = random.Random(f"{job.seed}:{number}")
            app_id = existing.get(user_id)
            if app_id is None:
                app_id = services.start_application(session, clock, user_id, unit_id)
            rngs[app_id], plans[app_id] = rng, _plan(rng)
            kind, stage = plans[app_id]
            result.plans[kind + (f"@{stage}" if stage else "")] += 1
            result.apps.append(app_id)
        returned = set()
        if existing:  # a return already made is not made again
            returned = set(
                session.scalars(
                    select(HistoryEvent.application_id).where(
                        HistoryEvent.application_id.in_(result.apps),
                        HistoryEvent.event_type == "completed",
                        HistoryEvent.data_json.like('%"decision":"return"%'),
                    )
                )
            )
    apps = result.apps
    for instant in _steps():
        if resume_at is None or instant >= resume_at:
            clock.set(instant)
            result.timers_fired += len(worker.tick(session_factory, clock, only=apps).fired)
            _act(session_factory, clock, rngs, tree, plans, returned, declaration, result, apps)
        if on_step:
            on_step()
    clock.set(END + timedelta(days=1))
    result.timers_fired += len(worker.tick(session_factory, clock, only=apps).fired)
    result.lock = lock_stats().minus(lock_before)
    return result


def _declaration() -> dict:
    if "declaration" not in _WORKER:
        text = (bpmn_dir() / "scenarios/data/declaration.yaml").read_text(encoding="utf-8")
        _WORKER["declaration"] = yaml.safe_load(text)
    return _WORKER["declaration"]


def _act(session_factory, clock, rngs, tree, plans, returned, declaration, report, apps) -> None:
    now = clock.now()
    last_chance = now + timedelta(hours=12)
    with connections(session_factory)() as session:
        open_items = session.execute(
            select(
                WorkItem.application_id,
                WorkItem.stage,
                WorkItem.org_id,
                WorkItem.deadline,
                ApplicationRow.applicant_id,
                ApplicationRow.version,
            )
            .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
            .where(
                WorkItem.application_id.in_(apps),
                or_(WorkItem.actionable_from.is_(None), WorkItem.actionable_from <= now),
                and_(WorkItem.deadline > now),
            )
            .order_by(WorkItem.application_id)
        ).all()
        for app_id, stage, org_id, deadline, applicant_id, version in open_items:
            kind, at_stage = plans.get(app_id, ("straight", None))
            if kind == "lapse" and stage == at_stage:
                continue
            if not (deadline <= last_chance or rngs[app_id].random() < 0.35):
                continue
            if stage in ("applicant_submit", "applicant_correct"):
                actor = Actor(applicant_id, frozenset(), "申报人")
            elif stage == "onsite_confirm":
                actor = tree.desk
            else:
                actor = tree.staff[org_id]
            try:
                services.perform_task(
                    session,
                    clock,
                    app_id,
                    stage,
                    actor,
                    _form(stage, plans[app_id], returned, app_id, declaration),
                    expected_version=version,
                )
                report.actions += 1
            except ActionRefused:
                report.refused += 1
