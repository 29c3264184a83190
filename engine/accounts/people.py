"""Use cases for people: register, log in (throttled, see `throttle`), passwords, sessions, staff accounts.

Functions flush but never commit: the caller owns the transaction (one unit of work per action).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.clock import Clock
from engine.errors import FormInvalid, NotFound, NotPermitted

from . import throttle
from . import validation as v
from .errors import LoginFailed
from .models import Membership, Org, PasswordReset, User

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
    session_version: int = 0
    must_change_password: bool = False  # after an admin's reset: only 修改密码 until a new one is chosen

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
        user.session_version or 0,
        bool(user.must_change_password),
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
        raise FormInvalid(
            {
                field: f"{label}：该{label}已注册，请直接登录；忘记密码请找所在单位管理员重置（见登录页“忘记密码”）"
            }
        )
    if id_number and session.scalar(select(User.id).where(User.id_number == id_number)) is not None:
        raise FormInvalid(
            {
                "id_number": "身份证号码：该身份证号码已注册，请直接登录；忘记密码请找所在单位管理员重置（见登录页“忘记密码”）"
            }
        )
    user = User(
        username=username,
        real_name=real_name,
        id_number=id_number,
        mobile=mobile,
        password_hash=generate_password_hash(password, method=PASSWORD_HASH_METHOD),
        session_version=0,
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
    """A preset account (operator, auditor or org admin) identified by a chosen username.

    Raises FormInvalid, also for a username shaped like an ID number: that login belongs to the person who
    registers with it, and a staff account under it would keep them from registering.
    """
    username, real_name, password = v.collect(
        lambda: v.staff_username(username),
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


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-password-0", method=method)


def _password_matches(user: User | None, password: str) -> bool:
    """Check a password; for no user, hash a dummy anyway so both answers take the same time."""
    if user is None:
        check_password_hash(_dummy_hash(PASSWORD_HASH_METHOD), password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


def _find_user(session: Session, username: str) -> User | None:
    username = (username or "").strip()
    return session.scalar(select(User).where(User.username.in_({username, username.upper()})))


def authenticate(
    session: Session, clock: Clock, username: str, password: str, *, address: str | None = None
) -> UserProfile:
    """Check a password, throttled by client address and by account (growing delays, see `throttle`).

    Raises LoginFailed (same message, status and cost for an unknown user and a wrong password) or
    LoginThrottled (says when to retry). Failures are written even though the action is refused, so the
    caller must commit before rendering the error.
    """
    now = clock.now()
    keys = [throttle.address_key(address), throttle.account_key(username)]
    throttle.check(session, now, keys)
    user = _find_user(session, username)
    if not _password_matches(user, password):
        throttle.record_failure(session, now, keys)
        raise LoginFailed("用户名或密码错误")
    throttle.clear(session, throttle.account_key(username))
    session.flush()
    return user_profile(session, user.id)


def change_password(
    session: Session,
    clock: Clock,
    user_id: int,
    old_password: str,
    new_password: str,
    new_password2: str | None = None,
    *,
    address: str | None = None,
) -> int:
    """Change a password after checking the old one; end every other session; return the new session version.

    The old-password check is throttled like a login (a stolen session must not become a password oracle).
    Raises FormInvalid, LoginThrottled or NotFound. A wrong old password is recorded: commit before rendering.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户（编号 {user_id}）不存在", user_id=user_id)
    now = clock.now()
    keys = [throttle.address_key(address), throttle.account_key(user.username)]
    throttle.check(session, now, keys)
    if not check_password_hash(user.password_hash, old_password or ""):
        throttle.record_failure(session, now, keys)
        raise FormInvalid({"old_password": "原密码：不正确"})
    v.password(new_password, "new_password", "新密码")
    if new_password2 is not None and new_password2 != new_password:
        raise FormInvalid({"new_password2": "确认新密码：两次输入的密码不一致"})
    if new_password == old_password:
        raise FormInvalid({"new_password": "新密码：不能与原密码相同"})
    return set_password(session, user, new_password, must_change=False)


def set_password(session: Session, user: User, password: str, *, must_change: bool) -> int:
    """Store a password's hash (never the password), end every session, clear the account's login throttle;
    return the new session version. `must_change` makes the next login go to 修改密码 first."""
    user.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    user.must_change_password = must_change
    throttle.clear(session, throttle.account_key(user.username))
    return _bump_sessions(session, user)


def email_of(session: Session, user_id: int) -> str | None:
    """The address this person's reminders are e-mailed to, if any."""
    user = session.get(User, user_id)
    return user.email if user else None


def set_email(session: Session, user_id: int, email: str | None) -> str | None:
    """Set (or clear) the address deadline reminders are e-mailed to. Raises FormInvalid."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    user.email = v.email(email)
    return user.email


def _bump_sessions(session: Session, user: User) -> int:
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    return user.session_version


def end_sessions(session: Session, user_id: int) -> None:
    """Logout: every session of this user, on every device, stops being valid."""
    user = session.get(User, user_id)
    if user is not None:
        _bump_sessions(session, user)


def session_version(session: Session, user_id: int) -> int | None:
    """The user's current session version, or None if there is no such user (checked on every request)."""
    return session.scalar(select(User.session_version).where(User.id == user_id))


def reset_password(
    session: Session,
    *,
    actor_id: int | None,
    username: str,
    new_password: str,
    clock: Clock | None = None,
    must_change: bool = False,
) -> UserProfile:
    """An operator (or the CLI: actor_id None) sets a new password; every session of that user ends and
    the account's login throttle is cleared; with a `clock` the reset is logged (`password_reset`).
    Raises NotPermitted, NotFound or FormInvalid."""
    require_operator(session, actor_id)
    user = _find_user(session, username)
    if user is None:
        raise NotFound(f"用户 {username} 不存在", username=username)
    v.password(new_password)
    set_password(session, user, new_password, must_change=must_change)
    if clock is not None:
        session.add(PasswordReset(user_id=user.id, actor_id=actor_id, org_id=None, at=clock.now()))
        session.flush()
    return user_profile(session, user.id)


def user_id_for(session: Session, username: str) -> int | None:
    """The id of the account a typed username (or ID number, any case of its X) names, if any."""
    user = _find_user(session, username)
    return user.id if user else None


def require_operator(session: Session, actor_id: int | None) -> None:
    """Refuse unless actor_id is an operator; None means the system itself (CLI). Raises NotPermitted."""
    if actor_id is None:
        return
    user = session.get(User, actor_id)
    if user is None or not user.is_operator:
        raise NotPermitted("只有系统管理员可以进行此操作", actor_id=actor_id)


def login_throttles(session: Session, clock: Clock, *, actor_id: int | None) -> list[throttle.ThrottleInfo]:
    """The operator's view of current login throttles (addresses and accounts). Raises NotPermitted."""
    require_operator(session, actor_id)
    return throttle.list_throttles(session, clock.now())


def clear_login_throttle(session: Session, *, actor_id: int | None, key: str) -> bool:
    """An operator lifts one throttle (e.g. an office NAT address after a typing spree). Raises NotPermitted."""
    require_operator(session, actor_id)
    return throttle.clear(session, key)
