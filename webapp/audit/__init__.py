"""审计: scoped search, timelines, step-by-step replay with the diagram, verify and export."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from . import routes  # noqa: E402,F401
