"""我的单位: org registration and binding, HR agencies, reviewers."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

from . import passwords, routes  # noqa: E402,F401  (routes attach to bp)
