"""Views: parse the form, call one engine function, commit, render."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from engine.accounts import services as acc
from engine.accounts.errors import LoginThrottled
from engine.errors import ActionRefused, FormInvalid, OutsideWindow

from ..clock import get_clock
from ..errors import apply_form_errors
from ..extensions import db
from ..portal.routes import registration_state, require_registration_open
from . import bp
from .forms import ChangePasswordForm, EmailForm, LoginForm, RegisterForm
from .session_user import SESSION_VERSION_KEY, start_session


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.is_submitted():
        try:
            require_registration_open()
            profile = acc.register_person(
                db.session,
                get_clock(),
                real_name=form.real_name.data,
                id_number=form.id_number.data,
                mobile=form.mobile.data,
                password=form.password.data,
                password2=form.password2.data,
            )
            db.session.commit()
        except OutsideWindow as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("auth/register.html", form=form, registration=registration_state()), 409
        except FormInvalid as exc:
            db.session.rollback()
            apply_form_errors(form, exc)
            return render_template("auth/register.html", form=form, registration=registration_state()), 422
        start_session(profile)
        flash(f"注册成功，{profile.real_name}，您的登录用户名是身份证号码 {profile.username}", "success")
        return redirect(url_for("portal.index"))
    return render_template("auth/register.html", form=form, registration=registration_state())


def _safe_next(target: str | None) -> str:
    # Browsers read "/\\evil.example" as "//evil.example": a backslash or control character is never local.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not any(ch == "\\" or ord(ch) < 32 for ch in target)
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("portal.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.is_submitted():
        try:
            profile = acc.authenticate(
                db.session,
                get_clock(),
                form.username.data,
                form.password.data,
                address=request.remote_addr,
            )
        except ActionRefused as exc:
            db.session.commit()  # keep the failure counts: every worker reads them from the database
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), 429 if isinstance(
                exc, LoginThrottled
            ) else 401
        db.session.commit()
        start_session(profile)
        flash(f"欢迎，{profile.real_name}", "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:  # every session of this person ends, not only this browser's
        acc.end_sessions(db.session, current_user.id)
        db.session.commit()
    logout_user()
    session.clear()
    flash("您已退出登录", "info")
    return redirect(url_for("portal.index"))


# While a reset password waits to be changed these are all the person may reach (and static files, health).
OPEN_WHILE_MUST_CHANGE = {
    "auth.change_password",
    "auth.logout",
    "auth.forgot",
    "static",
    "ops.healthz",
    "ops.metrics_endpoint",
}


@bp.before_app_request
def _must_change_password_first():
    """After an admin's reset, nothing but 修改密码 (and 退出) is reachable until a new password is set."""
    if request.endpoint in OPEN_WHILE_MUST_CHANGE:
        return None  # checked first: static files never load the user
    if current_user.is_authenticated and current_user.must_change_password:
        if request.method == "GET":
            flash("您的密码已由管理员重置，请先设置新密码", "info")
        return redirect(url_for("auth.change_password"))
    return None


@bp.route("/forgot")
def forgot():
    """找回密码: how recovery works here (no SMS or e-mail; an admin above you issues a one-time password)."""
    return render_template("auth/forgot.html")


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.is_submitted():
        try:
            version = acc.change_password(
                db.session,
                get_clock(),
                current_user.id,
                form.old_password.data,
                form.new_password.data,
                form.new_password2.data,
                address=request.remote_addr,
            )
            db.session.commit()
        except FormInvalid as exc:
            db.session.commit()  # a wrong old password counts against the login throttle
            apply_form_errors(form, exc)
            return render_template(
                "auth/password.html", form=form, forced=current_user.must_change_password
            ), 422
        except LoginThrottled as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template(
                "auth/password.html", form=form, forced=current_user.must_change_password
            ), 429
        session[SESSION_VERSION_KEY] = version  # this browser stays in; every other session ends
        flash("密码已修改，其他设备上的登录已失效", "success")
        return redirect(url_for("portal.index"))
    return render_template("auth/password.html", form=form, forced=current_user.must_change_password)


@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email():
    """Where this person's deadline reminders are e-mailed (staff and applicants alike)."""
    form = EmailForm()
    if form.is_submitted():
        try:
            email = acc.set_email(db.session, current_user.id, form.email.data)
            db.session.commit()
        except FormInvalid as exc:
            db.session.rollback()
            apply_form_errors(form, exc)
            return render_template("auth/email.html", form=form), 422
        flash(f"提醒邮箱已设为 {email}" if email else "已清除提醒邮箱，今后只在站内提醒", "success")
        return redirect(url_for("auth.change_email"))
    if not form.email.data:
        form.email.data = acc.email_of(db.session, current_user.id)
    return render_template("auth/email.html", form=form)
