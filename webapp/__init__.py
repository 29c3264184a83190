"""Thin Flask UI and CLI over the engine."""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Application factory: config from the environment, overridden by `config` (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    from engine.clock import SystemClock

    from .config import Config

    app.config.from_object(Config())
    if config:
        app.config.update(config)
    from . import security

    security.configure(app)  # refuses to start without a real secret key outside sandbox, tests and CLI
    from .params import DbIntConverter

    app.url_map.converters["int"] = DbIntConverter  # before any blueprint: ids past the DB's range are 404
    app.config["ZHICHENG_CLOCK_EXPLICIT"] = app.config.get("ZHICHENG_CLOCK") is not None
    if app.config.get("ZHICHENG_CLOCK") is None:
        app.config["ZHICHENG_CLOCK"] = SystemClock()

    from engine.paths import migrations_dir

    from .extensions import csrf, db, login_manager, migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):  # the default lives in instance/
        Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    db.init_app(app)
    with app.app_context():  # WAL and a 30 s busy timeout on SQLite, as every other engine of ours
        from engine.db import configure_engine

        configure_engine(db.engine)
    csrf.init_app(app)
    login_manager.init_app(app)
    # `zhicheng db upgrade`; batch mode so ALTERs work on SQLite
    migrate.init_app(app, db, directory=str(migrations_dir()), render_as_batch=True)

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
    from . import audit, diagram

    app.register_blueprint(audit.bp)
    app.register_blueprint(diagram.bp)
    from . import dashboard, notices

    app.register_blueprint(notices.bp)
    app.register_blueprint(dashboard.bp)
    from . import ops

    ops.init_app(app)  # /healthz, /metrics, request ids, logs
    _bind_sandbox_clock(app)
    _register_template_helpers(app)
    from . import nav

    nav.init_app(app)  # the left menu and its to-do badges
    return app


def _bind_sandbox_clock(app: Flask) -> None:
    """In sandbox mode (the demo) every process shares the simulated clock stored in the database."""
    if not app.config.get("ZHICHENG_SANDBOX") or app.config.get("ZHICHENG_CLOCK_EXPLICIT"):
        return
    from sqlalchemy.orm import sessionmaker

    from engine.store.sandbox import DbSandboxClock

    from .extensions import db

    with app.app_context():
        factory = sessionmaker(db.engine, expire_on_commit=False)
    app.config["ZHICHENG_CLOCK"] = DbSandboxClock(factory, start=app.config.get("ZHICHENG_SANDBOX_START"))


def _register_template_helpers(app: Flask) -> None:
    from engine import timefmt

    from .clock import get_clock

    # Every date on a page goes through engine.timefmt, as messages, CSV and prints do.
    app.add_template_filter(timefmt.instant, "local")
    app.add_template_filter(timefmt.day, "day")
    app.add_template_filter(timefmt.day_cn, "cndate")
    app.add_template_filter(timefmt.deadline, "deadline")
    app.add_template_filter(timefmt.deadline_cn, "deadline_cn")
    app.add_template_filter(timefmt.opens, "opens")
    app.add_template_filter(timefmt.opens_cn, "opens_cn")

    @app.template_filter("days_left")
    def days_left(value) -> str:
        """剩余 N 个工作日, only when the deadline is near (empty otherwise)."""
        now = get_clock().now()
        if value is None or value <= now or not timefmt.is_near(now, value):
            return ""
        left = timefmt.working_days_left(now, value)
        return f"剩余 {left} 个工作日" if left else "今日截止"

    @app.context_processor
    def globals_for_templates():
        return {"sandbox": app.config.get("ZHICHENG_SANDBOX", False), "clock_now": get_clock().now()}
