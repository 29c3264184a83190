"""The logged-in person as Flask-Login sees it: the engine's plain UserProfile behind UserMixin."""

from __future__ import annotations

from flask import session
from flask_login import LoginManager, UserMixin, login_user

from engine.accounts.services import UserProfile, user_profile
from engine.errors import NotFound

from ..extensions import db


class SessionUser(UserMixin):
    """Wraps a UserProfile; attributes (id, real_name, memberships, roles_in …) pass through."""

    def __init__(self, profile: UserProfile):
        self.profile = profile

    def __getattr__(self, name):
        return getattr(self.profile, name)

    @property
    def id(self) -> int:  # UserMixin.get_id reads it
        return self.profile.id

    def is_admin_of(self, org_id: int) -> bool:
        return "admin" in self.profile.roles_in(org_id)

    def admin_orgs(self, *types: str):
        """Active orgs this user administers, optionally of some types."""
        return [
            m
            for m in self.profile.admin_of()
            if m.org_status == "active" and (not types or m.org_type in types)
        ]


SESSION_VERSION_KEY = "sv"


def start_session(profile: UserProfile) -> None:
    """Log the person in on this browser, remembering the session version the cookie was issued for."""
    session.clear()  # nothing from before the login (another account's flashes, an anonymous token) carries over
    login_user(SessionUser(profile))
    session[SESSION_VERSION_KEY] = profile.session_version


def init_login(manager: LoginManager) -> None:
    """Configure Flask-Login: Chinese messages and the user loader."""
    manager.login_view = "auth.login"
    manager.login_message = "请先登录"
    manager.login_message_category = "info"

    @manager.user_loader
    def load_user(user_id: str):
        """The session's user, unless logout, a password change or a reset has ended this session since."""
        try:
            profile = user_profile(db.session, int(user_id))
        except (NotFound, ValueError, OverflowError):
            return None
        if session.get(SESSION_VERSION_KEY) != profile.session_version:
            return None
        return SessionUser(profile)
