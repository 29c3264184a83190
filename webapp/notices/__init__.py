"""The notification centre: the bell on every page, the list of a person's reminders, mark as read."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notices", __name__, url_prefix="/notifications")

from . import routes  # noqa: E402,F401  (routes attach to bp)
