"""我的申请书: start a declaration, fill and submit it, follow its progress, correct it, print the forms."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("apply", __name__, url_prefix="/apply")

from . import routes  # noqa: E402,F401  (routes attach to bp)
