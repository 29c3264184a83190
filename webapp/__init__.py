"""Thin Flask UI and CLI over the engine."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def create_app(config: dict | None = None) -> Flask:
    """Application factory: config from the environment, overridden by `config` (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    from engine.clock import SystemClock

    from .config import Config

    app.config.from_object(Config())
    if config:
        app.config.update(config)
    if app.config.get("ZHICHENG_CLOCK") is None:
        app.config["ZHICHENG_CLOCK"] = SystemClock()

    from .extensions import csrf, db, login_manager

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import auth, errors, orgs, portal

    auth.init_login(login_manager)
    errors.register(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(orgs.bp)
    app.register_blueprint(portal.bp)
    from . import admin, apply, review

    app.register_blueprint(apply.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(admin.bp)
    _register_template_helpers(app)
    return app


def _register_template_helpers(app: Flask) -> None:
    from .clock import get_clock

    @app.template_filter("local")
    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """An aware instant shown in Beijing time."""
        return value.astimezone(LOCAL_TZ).strftime(fmt) if value else ""

    @app.template_filter("cndate")
    def cndate(value) -> str:
        """A date as 2020年11月17日."""
        return f"{value.year}年{value.month}月{value.day}日" if value else ""

    @app.context_processor
    def globals_for_templates():
        return {"sandbox": app.config.get("ZHICHENG_SANDBOX", False), "clock_now": get_clock().now()}
