"""The process diagram of an application as SVG, for everyone who may see the application."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_login import current_user, login_required

from engine.audit.queries import diagram_for

from ..clock import get_clock
from ..extensions import db

bp = Blueprint("diagram", __name__, url_prefix="/diagram")


@bp.route("/applications/<int:app_id>.svg")
@login_required
def svg(app_id: int):
    """Current position highlighted, path travelled marked; 404 outside the viewer's scope."""
    body = diagram_for(db.session, get_clock(), app_id, current_user.id)
    return Response(body, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})
