"""Personal accounts: register, log in, log out, change password."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from . import routes  # noqa: E402,F401  (routes attach to bp)
from .session_user import init_login  # noqa: E402,F401
