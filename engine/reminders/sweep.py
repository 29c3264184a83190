"""The reminder sweep: find ready tasks due a reminder in the work-item index and claim each reminder once.

Claiming is inserting the outbox rows (one per person and channel) under their unique key with ON CONFLICT
DO NOTHING: of two workers, or of a worker and its own retry after a crash, exactly one inserts a given row,
and only the inserted in-app rows become notifications, in the same transaction. On PostgreSQL the batch's
application rows are first locked FOR SHARE (SKIP LOCKED), then the tasks are read again: an application a
reviewer is completing right now is skipped until the next sweep, so a task already done is never reminded.
On SQLite writers are serialized and a stale read fails the write, which the next sweep retries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from calendars import default_calendar
from engine.accounts.models import Membership, User
from engine.clock import Clock
from engine.store.services import deployment_for
from engine.store.tables import ApplicationRow, DeploymentRow, WorkItem
from engine.store.uow import UnitOfWork

from .messages import TaskFacts, compose
from .policy import OPENS, Policy, bands, due_keys, start_of_today
from .recipients import org_roles, reminds_applicant
from .tables import Notification, Outbox


@dataclass
class SweepReport:
    claimed: int = 0  # outbox rows inserted (every channel)
    notifications: int = 0
    reminded: list[tuple[int, str, str, int]] = field(default_factory=list)  # (application, stage, key, user)


def _insert(session: Session):
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(Outbox)


def _candidates(session: Session, deployment_id: str, key: str, where, limit: int, after=None):
    """Ready tasks of one deployment in a band, not yet claimed for `key`, from `after` (deadline, app) on."""
    if after is not None:
        where = [
            *where,
            or_(
                WorkItem.deadline > after[0],
                and_(WorkItem.deadline == after[0], WorkItem.application_id >= after[1]),
            ),
        ]
    claimed = exists().where(
        Outbox.application_id == WorkItem.application_id,
        Outbox.stage == WorkItem.stage,
        Outbox.task_deadline == WorkItem.deadline,
        Outbox.offset_key == key,
    )
    return session.execute(
        select(
            WorkItem.application_id,
            WorkItem.stage,
            WorkItem.tier,
            WorkItem.org_id,
            WorkItem.actionable_from,
            WorkItem.deadline,
            ApplicationRow.applicant_id,
            ApplicationRow.applicant_name,
            ApplicationRow.series,
        )
        .join(ApplicationRow, ApplicationRow.id == WorkItem.application_id)
        .where(ApplicationRow.deployment_id == deployment_id, *where, ~claimed)
        .order_by(WorkItem.deadline, WorkItem.application_id)
        .limit(limit)
    ).all()


def _band_filters(policy: Policy, calendar, now: datetime):
    """(key, SQL conditions) per reminder due today: the opening one, then each "before" band."""
    today = start_of_today(now)
    out = []
    if policy.on_open:
        out.append(
            (
                OPENS,
                [WorkItem.actionable_from >= today, WorkItem.actionable_from <= now, WorkItem.deadline > now],
            )
        )
    opened = WorkItem.actionable_from.is_(None) | (
        (WorkItem.actionable_from < today) if policy.on_open else (WorkItem.actionable_from <= now)
    )
    for band in bands(policy, calendar, now):
        conds = [WorkItem.deadline > now, WorkItem.deadline <= calendar.end_of_day(band.through), opened]
        if band.after is not None:
            conds.append(WorkItem.deadline > calendar.end_of_day(band.after))
        out.append((band.key, conds))
    return out


def _people(session: Session, org_ids: set[int], user_ids: set[int]):
    """Members by org ({org: [(user, role)]}) and every needed user's (email, mobile)."""
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if org_ids:
        for user_id, org_id, role in session.execute(
            select(Membership.user_id, Membership.org_id, Membership.role).where(
                Membership.org_id.in_(org_ids)
            )
        ):
            members[org_id].append((user_id, role))
    wanted = user_ids | {u for rows in members.values() for u, _ in rows}
    contacts = {
        uid: (email, mobile)
        for uid, email, mobile in session.execute(
            select(User.id, User.email, User.mobile).where(User.id.in_(wanted))
        )
    }
    return members, contacts


def _still_ready(session: Session, rows) -> set[tuple[int, str, datetime]]:
    """Lock the applications (PostgreSQL) and return which of the tasks are still ready."""
    app_ids = sorted({r.application_id for r in rows})
    if session.get_bind().dialect.name == "postgresql":
        locked = set(
            session.scalars(
                select(ApplicationRow.id)
                .where(ApplicationRow.id.in_(app_ids))
                .with_for_update(read=True, skip_locked=True)
            )
        )
        app_ids = [a for a in app_ids if a in locked]
    if not app_ids:
        return set()
    return {
        (a, s, d)
        for a, s, d in session.execute(
            select(WorkItem.application_id, WorkItem.stage, WorkItem.deadline).where(
                WorkItem.application_id.in_(app_ids)
            )
        )
    }


def _claim(session: Session, clock: Clock, deployment, calendar, key: str, rows, channels, report) -> int:
    """Insert the outbox rows (and notifications) for `rows` in one unit of work; return tasks examined."""
    now, campaign, model = clock.now(), deployment.campaign, deployment.model
    with UnitOfWork(session) as uow:
        ready = _still_ready(session, rows)
        rows = [r for r in rows if (r.application_id, r.stage, r.deadline) in ready]
        org_ids = {r.org_id for r in rows if r.org_id is not None}
        applicants = {r.applicant_id for r in rows}
        members, contacts = _people(session, org_ids, applicants)
        outbox = []
        for r in rows:
            if key not in due_keys(Policy.of(campaign), calendar, now, r.actionable_from, r.deadline):
                continue  # the SQL band and the policy must agree; the policy has the last word
            facts = TaskFacts(
                r.application_id, r.applicant_name, r.series, r.stage, r.actionable_from, r.deadline
            )
            people: dict[int, bool] = {}  # user -> is the applicant
            if r.org_id is not None:
                roles = org_roles(model, r.stage)
                for user_id, role in members.get(r.org_id, []):
                    if role in roles and user_id != r.applicant_id:
                        people[user_id] = False
            if reminds_applicant(model, r.stage, r.tier):
                people[r.applicant_id] = True
            for user_id, is_applicant in people.items():
                subject, body = compose(
                    campaign, calendar, now, facts, key, to_applicant=is_applicant, model=model
                )
                email, mobile = contacts.get(user_id, (None, None))
                for channel, address in (("inapp", None), ("email", email), ("sms", mobile)):
                    if channel != "inapp" and (channel not in channels or not address):
                        continue
                    outbox.append(
                        {
                            "application_id": r.application_id,
                            "stage": r.stage,
                            "task_deadline": r.deadline,
                            "offset_key": key,
                            "user_id": user_id,
                            "channel": channel,
                            "address": address,
                            "subject": subject,
                            "body": body,
                            "status": "sent" if channel == "inapp" else "pending",
                            "attempts": 0,
                            "next_attempt_at": None if channel == "inapp" else now,
                            "created_at": now,
                            "sent_at": now if channel == "inapp" else None,
                        }
                    )
        if outbox:
            stmt = (
                _insert(session)
                .on_conflict_do_nothing()
                .returning(
                    Outbox.id,
                    Outbox.application_id,
                    Outbox.stage,
                    Outbox.user_id,
                    Outbox.channel,
                    Outbox.subject,
                    Outbox.body,
                )
            )
            won = session.execute(stmt, outbox).all()
            notes = [
                {
                    "user_id": w.user_id,
                    "outbox_id": w.id,
                    "application_id": w.application_id,
                    "subject": w.subject,
                    "body": w.body,
                    "created_at": now,
                }
                for w in won
                if w.channel == "inapp"
            ]
            if notes:
                session.execute(Notification.__table__.insert(), notes)
            report.claimed += len(won)
            report.notifications += len(notes)
            report.reminded.extend(
                (w.application_id, w.stage, key, w.user_id) for w in won if w.channel == "inapp"
            )
        uow.commit()
    return len(rows)


def sweep(
    session_factory, clock: Clock, *, channels=("email", "sms"), batch: int = 500, calendar=None
) -> SweepReport:
    """Claim every reminder due at the clock's now; in-app ones are delivered at once, others queued."""
    calendar = calendar or default_calendar()
    report = SweepReport()
    now = clock.now()
    with session_factory() as session:
        deployment_ids = list(session.scalars(select(DeploymentRow.id)))
    for deployment_id in deployment_ids:
        with session_factory() as session:
            deployment = deployment_for(session, deployment_id)
        campaign = deployment.campaign
        policy = Policy.of(campaign)
        if not policy.enabled:
            continue
        for key, where in _band_filters(policy, calendar, now):
            seen: set[tuple] = set()
            after = None
            while True:  # keyset pages, so tasks nobody can be reminded of never hide the ones after them
                with session_factory() as session:
                    rows = [
                        r
                        for r in _candidates(session, deployment_id, key, where, batch, after)
                        if (r.application_id, r.stage, r.deadline) not in seen
                    ]
                    if not rows:
                        break
                    seen.update((r.application_id, r.stage, r.deadline) for r in rows)
                    after = (rows[-1].deadline, rows[-1].application_id)
                    _claim(session, clock, deployment, calendar, key, rows, channels, report)
    return report
