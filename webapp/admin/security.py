"""Operator page for login security: see and clear login throttles, reset a password (ends every session)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.accounts import services as acc
from engine.errors import FormInvalid

from ..clock import get_clock
from ..errors import apply_form_errors
from ..extensions import db
from . import bp
from .forms import ResetPasswordForm


def _page(form: ResetPasswordForm, status: int = 200):
    throttles = acc.login_throttles(db.session, get_clock(), actor_id=current_user.id)
    return render_template("admin/throttles.html", throttles=throttles, form=form), status


@bp.route("/throttles")
@login_required
def throttles():
    """Current login throttles by client address and by account; blocked ones first."""
    return _page(ResetPasswordForm())


@bp.route("/throttles/clear", methods=["POST"])
@login_required
def clear_throttle():
    key = (request.form.get("key") or "")[:200]
    cleared = acc.clear_login_throttle(db.session, actor_id=current_user.id, key=key)
    db.session.commit()
    flash("已解除该限制" if cleared else "该限制已不存在", "success" if cleared else "info")
    return redirect(url_for("admin.throttles"))


@bp.route("/throttles/reset-password", methods=["POST"])
@login_required
def reset_password():
    form = ResetPasswordForm()
    try:
        profile = acc.reset_password(
            db.session,
            actor_id=current_user.id,
            username=form.username.data or "",
            new_password=form.new_password.data,
        )
    except FormInvalid as exc:
        db.session.rollback()
        exc.errors.setdefault("new_password", exc.errors.pop("password", "新密码：不符合要求"))
        apply_form_errors(form, exc)
        return _page(form, 422)
    db.session.commit()
    flash(f"已重置 {profile.real_name}（{profile.username}）的密码，其所有登录会话已失效", "success")
    return redirect(url_for("admin.throttles"))
