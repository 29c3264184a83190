"""The process diagram of an application, for everyone who may see the application.

The browser draws the BPMN XML of the application's own deployment with the vendored bpmn-js viewer
(static/diagram.js) and marks it from the path JSON; the SVG is the server's drawing of the same, shown
without JavaScript and in prints. Every route answers 404 outside the viewer's scope.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, jsonify
from flask_login import current_user, login_required

from engine.audit.queries import diagram_bpmn, diagram_for, diagram_path

from ..clock import get_clock
from ..extensions import db

bp = Blueprint("diagram", __name__, url_prefix="/diagram")

VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor" / "bpmn-js"
PRIVATE = {"Cache-Control": "private, no-store"}


@bp.app_template_global()
@lru_cache(maxsize=1)
def bpmnjs_assets() -> dict[str, str]:
    """Static paths of the vendored viewer's files, from the manifest `make vendor-bpmnjs` writes."""
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    base = f"vendor/bpmn-js/{manifest['version']}/"
    return {key: base + name for key, name in manifest["entry"].items()}


@bp.route("/applications/<int:app_id>.svg")
@login_required
def svg(app_id: int):
    """Current position highlighted, path travelled marked; 404 outside the viewer's scope."""
    body = diagram_for(db.session, get_clock(), app_id, current_user.id)
    return Response(body, mimetype="image/svg+xml", headers=PRIVATE)


@bp.route("/applications/<int:app_id>.bpmn")
@login_required
def bpmn(app_id: int):
    """The BPMN XML of the deployment the application is pinned to (not today's), for the viewer."""
    body = diagram_bpmn(db.session, app_id, current_user.id)
    return Response(body, mimetype="application/xml", headers=PRIVATE)


@bp.route("/applications/<int:app_id>/path.json")
@login_required
def path(app_id: int):
    """{current, done, flows}: the element ids the viewer marks (read from the application's history)."""
    response = jsonify(diagram_path(db.session, get_clock(), app_id, current_user.id).as_json())
    response.headers.update(PRIVATE)
    return response
