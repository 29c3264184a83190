"""The public front page: the campaign notice, its windows and contacts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__)

from . import routes  # noqa: E402,F401  (routes attach to bp)
