"""Views of the notification centre; every query is the logged-in person's own."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from engine.reminders import inbox

from ..clock import get_clock
from ..extensions import db
from . import bp


@bp.app_context_processor
def bell():
    """The unread count for the bell in the header of every page."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    return {"unread_notifications": inbox.unread_count(db.session, current_user.id)}


@bp.route("/")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    items = inbox.notifications(db.session, current_user.id, unread_only=unread_only)
    return render_template("notices/index.html", items=items, unread_only=unread_only, form=FlaskForm())


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    form = FlaskForm()
    if form.validate_on_submit():
        inbox.mark_read(db.session, get_clock(), current_user.id, notification_id)
    return redirect(url_for("notices.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    form = FlaskForm()
    if form.validate_on_submit():
        inbox.mark_read(db.session, get_clock(), current_user.id)
    return redirect(url_for("notices.index"))
