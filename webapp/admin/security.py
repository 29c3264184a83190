"""Operator page for login security: see and clear login throttles, reset a password (ends every session)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.accounts import services as acc
from engine.errors import FormInvalid

from ..clock import get_clock
from ..errors import apply_form_errors
from ..extensions import db
from ..orgs.passwords import issue_one_time
from . import bp
from .forms import OneTimePasswordForm, ResetPasswordForm


def _page(form: ResetPasswordForm, status: int = 200, *, one_time=None, issued=None):
    throttles = acc.login_throttles(db.session, get_clock(), actor_id=current_user.id)
    return (
        render_template(
            "admin/throttles.html",
            throttles=throttles,
            form=form,
            one_time=one_time or OneTimePasswordForm(),
            issued=issued,
            log=acc.reset_log(db.session, actor_id=current_user.id),
        ),
        status,
        {"Cache-Control": "no-store"},
    )


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
            clock=get_clock(),
            must_change=True,  # the operator chose it: its owner replaces it at the next login
        )
    except FormInvalid as exc:
        db.session.rollback()
        exc.errors.setdefault("new_password", exc.errors.pop("password", "新密码：不符合要求"))
        apply_form_errors(form, exc)
        return _page(form, 422)
    db.session.commit()
    flash(f"已重置 {profile.real_name}（{profile.username}）的密码，其所有登录会话已失效", "success")
    return redirect(url_for("admin.throttles"))


@bp.route("/throttles/one-time-password", methods=["POST"])
@login_required
def one_time_password():
    """The operator issues a one-time password (e.g. to a district HR office's preset admin), shown once."""
    form = OneTimePasswordForm()
    acc.require_operator(db.session, current_user.id)
    user_id = acc.user_id_for(db.session, form.username.data or "")
    if user_id is None:
        form.username.errors = ["用户名或身份证号码：没有这个用户"]
        return _page(ResetPasswordForm(), 422, one_time=form)
    issued, status = issue_one_time(user_id)
    return _page(ResetPasswordForm(), status, one_time=form, issued=issued)
