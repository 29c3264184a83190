"""Operator pages: deploy a checked BPMN/forms/campaign set; the sandbox clock (demo only)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import routes, security  # noqa: E402,F401  (routes attach to bp)
