"""Use cases for people: register, log in (with throttling), change password, profiles, staff accounts.

Functions flush but never commit: the caller owns the transaction (one unit of work per action).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import timefmt
from engine.clock import Clock
from engine.errors import FormInvalid, NotFound, NotPermitted

from . import validation as v
from .errors import AccountLocked, LoginFailed
from .models import Membership, Org, User

MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
# werkzeug's method string; tests lower the cost (e.g. "pbkdf2:sha256:1000") so suites stay fast.
PASSWORD_HASH_METHOD = os.environ.get("ZHICHENG_PASSWORD_HASH", "scrypt")


@dataclass(frozen=True)
class MembershipInfo:
    org_id: int
    org_name: str
    org_type: str
    org_status: str
    role: str


@dataclass(frozen=True)
class UserProfile:
    id: int
    username: str
    real_name: str
    id_number: str | None
    mobile: str | None
    is_operator: bool
    is_auditor: bool
    auditor_scope_org_id: int | None
    memberships: tuple[MembershipInfo, ...] = ()

    def roles_in(self, org_id: int) -> set[str]:
        """The roles this user holds in one org."""
        return {m.role for m in self.memberships if m.org_id == org_id}

    def admin_of(self) -> list[MembershipInfo]:
        """Memberships in which the user is the org's admin."""
        return [m for m in self.memberships if m.role == "admin"]


def user_profile(session: Session, user_id: int) -> UserProfile:
    """A user's plain profile with memberships. Raises NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户（编号 {user_id}）不存在", user_id=user_id)
    rows = session.execute(
        select(Membership.role, Org)
        .join(Org, Org.id == Membership.org_id)
        .where(Membership.user_id == user_id)
        .order_by(Org.id, Membership.role)
    ).all()
    members = tuple(MembershipInfo(org.id, org.name, org.type, org.status, role) for role, org in rows)
    return UserProfile(
        user.id,
        user.username,
        user.real_name,
        user.id_number,
        user.mobile,
        user.is_operator,
        user.is_auditor,
        user.auditor_scope_org_id,
        members,
    )


def _new_user(
    session: Session,
    clock: Clock,
    *,
    username: str,
    real_name: str,
    password: str,
    id_number: str | None = None,
    mobile: str | None = None,
    **flags,
) -> User:
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        field = "id_number" if id_number else "username"
        label = "身份证号码" if id_number else "用户名"
        raise FormInvalid({field: f"{label}：该{label}已注册，请直接登录或找回密码"})
    if id_number and session.scalar(select(User.id).where(User.id_number == id_number)) is not None:
        raise FormInvalid({"id_number": "身份证号码：该身份证号码已注册，请直接登录"})
    user = User(
        username=username,
        real_name=real_name,
        id_number=id_number,
        mobile=mobile,
        password_hash=generate_password_hash(password, method=PASSWORD_HASH_METHOD),
        failed_logins=0,
        created_at=clock.now(),
        **flags,
    )
    session.add(user)
    session.flush()
    return user


def register_person(
    session: Session,
    clock: Clock,
    *,
    real_name: str,
    id_number: str,
    mobile: str,
    password: str,
    password2: str | None = None,
) -> UserProfile:
    """Register a personal account; its username is the ID number. Raises FormInvalid."""
    real_name, id_number, mobile, password = v.collect(
        lambda: v.required(real_name, "real_name", "姓名", 50),
        lambda: v.resident_id(id_number),
        lambda: v.mobile(mobile),
        lambda: v.password(password),
    )
    if password2 is not None and password2 != password:
        raise FormInvalid({"password2": "确认密码：两次输入的密码不一致"})
    user = _new_user(
        session,
        clock,
        username=id_number,
        real_name=real_name,
        password=password,
        id_number=id_number,
        mobile=mobile,
    )
    return user_profile(session, user.id)


def create_staff_user(
    session: Session,
    clock: Clock,
    *,
    username: str,
    real_name: str,
    password: str,
    is_operator: bool = False,
    is_auditor: bool = False,
    auditor_scope_org_id: int | None = None,
) -> UserProfile:
    """A preset account (operator, auditor or org admin) identified by a chosen username."""
    username, real_name, password = v.collect(
        lambda: v.required(username, "username", "用户名", 64),
        lambda: v.required(real_name, "real_name", "姓名", 50),
        lambda: v.password(password),
    )
    user = _new_user(
        session,
        clock,
        username=username,
        real_name=real_name,
        password=password,
        is_operator=is_operator,
        is_auditor=is_auditor,
        auditor_scope_org_id=auditor_scope_org_id,
    )
    return user_profile(session, user.id)


def authenticate(session: Session, clock: Clock, username: str, password: str) -> UserProfile:
    """Check a password. After MAX_FAILED_LOGINS failures the account locks for LOCK_DURATION.

    Raises LoginFailed or AccountLocked (whose message says when it unlocks). Failure counts are
    written even though the action is refused, so the caller must commit before rendering the error.
    """
    username = (username or "").strip()
    user = session.scalar(select(User).where(User.username.in_({username, username.upper()})))
    if user is None:
        raise LoginFailed("用户名或密码错误")
    now = clock.now()
    if user.locked_until is not None and now < user.locked_until:
        raise AccountLocked(
            f"密码连续错误{MAX_FAILED_LOGINS}次，账户已锁定，请于 {timefmt.instant(user.locked_until)} 后再试",
            until=user.locked_until,
        )
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.failed_logins = 0
            user.locked_until = now + LOCK_DURATION
            session.flush()
            raise AccountLocked(
                f"密码连续错误{MAX_FAILED_LOGINS}次，账户已锁定，"
                f"请于 {timefmt.instant(user.locked_until)} 后再试",
                until=user.locked_until,
            )
        session.flush()
        left = MAX_FAILED_LOGINS - user.failed_logins
        raise LoginFailed(f"用户名或密码错误，再错{left}次账户将锁定15分钟")
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return user_profile(session, user.id)


def change_password(
    session: Session, user_id: int, old_password: str, new_password: str, new_password2: str | None = None
) -> None:
    """Change a password after checking the old one. Raises FormInvalid or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户（编号 {user_id}）不存在", user_id=user_id)
    if not check_password_hash(user.password_hash, old_password or ""):
        raise FormInvalid({"old_password": "原密码：不正确"})
    v.password(new_password, "new_password", "新密码")
    if new_password2 is not None and new_password2 != new_password:
        raise FormInvalid({"new_password2": "确认新密码：两次输入的密码不一致"})
    user.password_hash = generate_password_hash(new_password, method=PASSWORD_HASH_METHOD)
    session.flush()


def require_operator(session: Session, actor_id: int | None) -> None:
    """Refuse unless actor_id is an operator; None means the system itself (CLI). Raises NotPermitted."""
    if actor_id is None:
        return
    user = session.get(User, actor_id)
    if user is None or not user.is_operator:
        raise NotPermitted("只有系统管理员可以进行此操作", actor_id=actor_id)
