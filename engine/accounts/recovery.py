"""Password recovery without e-mail or SMS: an admin above the person issues a one-time password.

Who may reset whose password (the authority follows the org tree, DESIGN.md §2):
- an org's admin: the org's other members (reviewers, desk staff); a unit's admin also the applicants who
  declared through that unit;
- a district HR office's admin: the admins (and other members) of the orgs under that office;
- the system operator: anyone, the HR offices' preset admins included.
Nobody resets their own password this way (修改密码 is for that), and a person who administers an org is
reset only from above that org: a unit's admin can never take over a department admin's account by way of
an application.

The one-time password is returned once, to be shown to the admin; only its hash is stored. The person must
choose a new password at the next login; every session they had ends. Each reset is logged
(`password_reset`), and an admin may issue only so many per hour. Functions flush, never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import ActionRefused, NotFound, NotPermitted

from .models import Membership, Org, PasswordReset, User
from .people import UserProfile, set_password, user_profile

RESETS_PER_HOUR = 30
# No 0/O, 1/l/I: the admin reads it aloud or writes it down for the person.
ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class ResetThrottled(ActionRefused):
    """This admin issued too many one-time passwords in the last hour."""


@dataclass(frozen=True)
class OneTimeReset:
    profile: UserProfile
    password: str  # shown once to the admin; never stored


@dataclass(frozen=True)
class Resettable:
    user_id: int
    username: str
    real_name: str
    why: str  # 审核人员 / 单位管理员（某单位）/ 申报人


@dataclass(frozen=True)
class ResetRecord:
    user_name: str
    username: str
    actor_name: str
    org_name: str
    at: datetime


def one_time_password() -> str:
    """12 characters from an unambiguous alphabet, with at least one letter and one digit (the password rule)."""
    while True:
        word = "".join(secrets.choice(ALPHABET) for _ in range(12))
        if any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            return word


def _subtree(session: Session, root: int) -> set[int]:
    seen, frontier = {root}, {root}
    while frontier:
        frontier = set(session.scalars(select(Org.id).where(Org.parent_id.in_(frontier)))) - seen
        seen |= frontier
    return seen


def _admin_orgs(session: Session, user_id: int) -> list[Org]:
    return list(
        session.scalars(
            select(Org)
            .join(Membership, Membership.org_id == Org.id)
            .where(Membership.user_id == user_id, Membership.role == "admin", Org.status == "active")
        )
    )


def authority(session: Session, actor_id: int, target_id: int) -> int | None:
    """The org through which `actor_id` may reset `target_id`'s password (None: as the operator).

    Raises NotPermitted naming who can reset it instead, NotFound for an unknown person.
    """
    actor, target = session.get(User, actor_id), session.get(User, target_id)
    if target is None:
        raise NotFound(f"用户（编号 {target_id}）不存在", user_id=target_id)
    if actor is None or actor.id == target.id:
        raise NotPermitted("不能为自己重置密码：请使用“修改密码”", user_id=target_id)
    if actor.is_operator:
        return None
    refuse = NotPermitted(
        f"您无权重置 {target.real_name} 的密码：个人用户找所在单位管理员，单位管理员找上级区县人事（职改）部门，"
        "区县人事（职改）部门找系统管理员",
        user_id=target_id,
    )
    if target.is_operator or target.is_auditor:
        raise refuse
    held = list(
        session.execute(select(Membership.org_id, Membership.role).where(Membership.user_id == target.id))
    )
    for org in _admin_orgs(session, actor.id):
        below = _subtree(session, org.id) - {org.id} if org.type == "district_hr_office" else set()
        # every role the person holds must sit inside this admin's reach, or the reset would hand over more
        covered = all(org_id in below or (org_id == org.id and role != "admin") for org_id, role in held)
        if held and covered:
            return org.id
        if not held and org.type == "unit" and _declared_through(session, target.id, org.id):
            return org.id
    raise refuse


def _declared_through(session: Session, user_id: int, unit_id: int) -> bool:
    from engine.store.tables import ApplicationRow  # accounts sit below the store: look it up at call time

    return (
        session.scalar(
            select(ApplicationRow.id)
            .where(ApplicationRow.applicant_id == user_id, ApplicationRow.unit_id == unit_id)
            .limit(1)
        )
        is not None
    )


def issue_one_time_password(session: Session, clock: Clock, *, actor_id: int, user_id: int) -> OneTimeReset:
    """Reset a person's password to a fresh one-time password the admin hands over; log it.

    Raises NotPermitted, NotFound or ResetThrottled.
    """
    org_id = authority(session, actor_id, user_id)
    now = clock.now()
    recent = session.scalar(
        select(func.count(PasswordReset.id)).where(
            PasswordReset.actor_id == actor_id, PasswordReset.at > now - timedelta(hours=1)
        )
    )
    if recent >= RESETS_PER_HOUR:
        raise ResetThrottled(f"一小时内最多重置 {RESETS_PER_HOUR} 个密码，请稍后再试", actor_id=actor_id)
    password = one_time_password()
    user = session.get(User, user_id)
    set_password(session, user, password, must_change=True)
    session.add(PasswordReset(user_id=user_id, actor_id=actor_id, org_id=org_id, at=now))
    session.flush()
    return OneTimeReset(user_profile(session, user_id), password)


def resettable(session: Session, *, actor_id: int, org_id: int) -> list[Resettable]:
    """The people whose password this admin may reset through `org_id`. Raises NotPermitted."""
    org = session.get(Org, org_id)
    if org is None or org.id not in {o.id for o in _admin_orgs(session, actor_id)}:
        raise NotPermitted("只有本单位管理员可以重置本单位人员的密码", org_id=org_id)
    scope = (_subtree(session, org.id) - {org.id}) if org.type == "district_hr_office" else set()
    rows = session.execute(
        select(User.id, User.username, User.real_name, Membership.role, Org.name, Org.id)
        .join(Membership, Membership.user_id == User.id)
        .join(Org, Org.id == Membership.org_id)
        .where(Membership.org_id.in_(scope | {org.id}), User.id != actor_id)
        .order_by(Org.id, Membership.role, User.id)
    ).all()
    out: dict[int, Resettable] = {}
    for uid, username, name, role, org_name, member_org in rows:
        if member_org == org.id and role == "admin":
            continue
        why = f"{'管理员' if role == 'admin' else '审核人员' if role == 'reviewer' else '现场确认人员'}（{org_name}）"
        out.setdefault(uid, Resettable(uid, username, name, why))
    if org.type == "unit":
        from engine.store.tables import ApplicationRow

        applicants = session.execute(
            select(User.id, User.username, User.real_name)
            .join(ApplicationRow, ApplicationRow.applicant_id == User.id)
            .where(ApplicationRow.unit_id == org.id, User.id != actor_id)
            .distinct()
        ).all()
        for uid, username, name in applicants:
            out.setdefault(uid, Resettable(uid, username, name, "申报人"))
    return [
        r
        for r in out.values()
        if _may(session, actor_id, r.user_id)  # the same rule as the reset itself decides the list
    ]


def _may(session: Session, actor_id: int, user_id: int) -> bool:
    try:
        authority(session, actor_id, user_id)
    except (NotPermitted, NotFound):
        return False
    return True


def reset_log(
    session: Session, *, actor_id: int, org_id: int | None = None, limit: int = 100
) -> list[ResetRecord]:
    """Resets made through `org_id` (and, for an HR office, through the orgs under it); every reset for the
    operator when `org_id` is None. Raises NotPermitted."""
    actor = session.get(User, actor_id)
    if org_id is None:
        if actor is None or not actor.is_operator:
            raise NotPermitted("只有系统管理员可以查看全部密码重置记录", actor_id=actor_id)
        where = []
    else:
        if org_id not in {o.id for o in _admin_orgs(session, actor_id)}:
            raise NotPermitted("只有本单位管理员可以查看本单位的密码重置记录", org_id=org_id)
        where = [PasswordReset.org_id.in_(_subtree(session, org_id))]
    target, by = User.__table__.alias("target"), User.__table__.alias("actor")
    rows = session.execute(
        select(target.c.real_name, target.c.username, by.c.real_name, Org.name, PasswordReset.at)
        .select_from(PasswordReset)
        .join(target, target.c.id == PasswordReset.user_id)
        .outerjoin(by, by.c.id == PasswordReset.actor_id)
        .outerjoin(Org, Org.id == PasswordReset.org_id)
        .where(*where)
        .order_by(PasswordReset.at.desc(), PasswordReset.id.desc())
        .limit(limit)
    ).all()
    return [ResetRecord(n, u, a or "系统", o or "系统管理员", at) for n, u, a, o, at in rows]
