"""申请书审核: one inbox per org and tier, task pages, batch approval, CSV export, unit notice printing."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from . import routes  # noqa: E402,F401  (routes attach to bp)
