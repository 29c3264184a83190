"""Every mapping from an error to an HTTP status and a Chinese page lives here."""

from __future__ import annotations

from flask import Flask, flash, g, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    MethodNotAllowed,
    RequestEntityTooLarge,
)
from werkzeug.exceptions import NotFound as HTTPNotFound

from engine.errors import ActionRefused, FormInvalid, NotFound, NotPermitted

from .extensions import db


def status_for(exc: Exception) -> int:
    """The HTTP status of a domain error."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotPermitted):
        return 403
    if isinstance(exc, FormInvalid):
        return 422
    if isinstance(exc, ActionRefused):
        return 409
    return 500


def apply_form_errors(form, exc: FormInvalid) -> None:
    """Attach the engine's field errors to a WTForms form so the page shows them beside each input."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), message]
        else:
            form.form_errors.append(message)


def register(app: Flask) -> None:
    """Install the handlers on the app."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        db.session.rollback()
        return render_template(
            "errors/error.html",
            code=400,
            title="安全校验失败",
            message="表单缺少安全令牌（CSRF）或令牌已失效。请返回上一页，刷新后重新提交。",
        ), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        db.session.rollback()
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return render_template(
            "errors/error.html",
            code=413,
            title="上传内容过大",
            message=f"本次提交的文件总大小超过 {limit / 1048576:g} MB 的上限；"
            f"单个文件不得超过 {app.config['UPLOAD_MAX_FILE_BYTES'] / 1048576:g} MB。"
            "请压缩后重新上传。",
        ), 413

    @app.errorhandler(HTTPNotFound)
    @app.errorhandler(NotFound)
    def not_found(exc):
        db.session.rollback()
        message = exc.message if isinstance(exc, NotFound) else "您访问的页面不存在。"
        return render_template("errors/error.html", code=404, title="未找到", message=message), 404

    @app.errorhandler(Forbidden)
    def forbidden(exc):
        return render_template(
            "errors/error.html", code=403, title="无权访问", message="您没有访问此页面的权限。"
        ), 403

    @app.errorhandler(ActionRefused)
    def refused(exc: ActionRefused):
        db.session.rollback()
        flash(exc.message, "error")
        details = list(exc.errors.values()) if isinstance(exc, FormInvalid) else []
        # The message reaches the page through the flash area of base.html.
        return render_template(
            "errors/error.html", code=status_for(exc), title="操作未执行", message=None, details=details
        ), status_for(exc)

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(exc):
        db.session.rollback()
        allowed = "、".join(m for m in (exc.valid_methods or []) if m not in ("HEAD", "OPTIONS"))
        page = render_template(
            "errors/error.html",
            code=405,
            title="请求方式不被允许",
            message="此页面不接受这种请求方式"
            + (f"（只接受 {allowed}）" if allowed else "")
            + "。请通过页面上的链接和按钮操作。",
        )
        return page, 405, {"Allow": ", ".join(exc.valid_methods or [])}

    @app.errorhandler(BadRequest)
    def bad_request(exc):
        db.session.rollback()
        # Our own BadRequests (webapp.params, webapp.security) carry a Chinese description; werkzeug's do not.
        message = exc.description if _is_chinese(exc.description) else "请求无法识别，请检查输入后重试。"
        return render_template("errors/error.html", code=400, title="请求有误", message=message), 400

    @app.errorhandler(HTTPException)
    def other_http_error(exc):
        db.session.rollback()
        code = exc.code or 500
        return render_template(
            "errors/error.html", code=code, title="请求未能完成", message=f"请求未能完成（错误代码 {code}）。"
        ), code

    @app.errorhandler(500)
    def server_error(exc):
        db.session.rollback()
        return render_template(
            "errors/error.html",
            code=500,
            title="系统错误",
            message="系统出现错误，请稍后重试；如持续出现请联系技术支持。",
            request_id=g.get("request_id"),
        ), 500


def _is_chinese(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text)
