"""The HR offices' dashboard: counts per stage and org, at-risk tasks, lapses, charts and exports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from . import routes  # noqa: E402,F401  (routes attach to bp)
