"""`zhicheng demo`: a fresh sandbox with the 2020 campaign, demo accounts, a timer worker and the server."""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.orm import sessionmaker

from calendars import TZ
from engine.audit import signing
from engine.demo import DEMO_PASSWORD, seed_demo
from engine.deployment import read_sources

DEMO_START = datetime(2020, 11, 17, 9, 0, tzinfo=TZ)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the demo database and exit (used by tests).")
def demo_command(host, port, no_serve):
    """Reset the demo database, deploy the 2020 campaign, print the accounts and serve on 127.0.0.1:5000."""
    from flask_migrate import upgrade

    from engine.store import services
    from engine.store.sandbox import DbSandboxClock
    from engine.store.worker import run_worker
    from webapp import create_app
    from webapp.extensions import db

    instance = Path(os.environ.get("ZHICHENG_INSTANCE", Path.cwd() / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'demo.sqlite'}")
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):  # running it again starts afresh
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "ZHICHENG_SANDBOX": True,
            "ZHICHENG_SANDBOX_START": DEMO_START,
            "UPLOAD_DIR": str(instance / "demo-uploads"),
            # The demo signs its own audit checkpoints so the auditor's pages have something to show;
            # a real installation keeps this key off the web server (README, "Auditors").
            "AUDIT_KEY_PATH": str(instance / "demo-audit-key.pem"),
            "AUDIT_PUBLIC_KEY_PATH": str(instance / "demo-audit-key.pem.pub"),
        }
    )
    if not Path(app.config["AUDIT_KEY_PATH"]).exists():
        signing.generate_keypair(
            Path(app.config["AUDIT_KEY_PATH"]), Path(app.config["AUDIT_PUBLIC_KEY_PATH"])
        )
    with app.app_context():
        logging.disable(logging.INFO)  # Alembic's step-by-step lines would push the banner off the screen
        try:
            upgrade()
        finally:
            logging.disable(logging.NOTSET)
        factory = sessionmaker(db.engine, expire_on_commit=False)
        clock = DbSandboxClock(factory, start=DEMO_START)
        clock.set(DEMO_START)
        with factory() as session:
            info = services.deploy(session, clock, read_sources())
            accounts = seed_demo(session, clock)
            session.commit()
    click.echo("zhicheng 职称网报 · 演示环境（沙盒时钟）")
    click.echo(f"  数据库：{url}")
    click.echo(f"  活动：{info.campaign_id}，部署 {info.id[:12]}")
    click.echo(f"  模拟时钟：{DEMO_START.isoformat()}（管理员页面可向前拨动）")
    click.echo(f"  演示账号（密码均为 {DEMO_PASSWORD}）：")
    for a in accounts:
        click.echo(f"    {a.role:<10} {a.username:<20} {a.name:<6} {a.org}  {a.try_this}")
    if no_serve:
        return
    from engine.reminders.senders import senders_from_env
    from engine.reminders.service import remind

    from .audit import worker_checkpointer
    from .store import _after_tick, worker_reporter

    senders = senders_from_env(os.environ)
    with app.app_context():
        checkpointer = worker_checkpointer()
    worker = threading.Thread(
        target=run_worker,
        args=(factory, clock),
        kwargs={
            "interval": 2.0,
            "on_report": worker_reporter(factory, clock, echo=False),
            "after_tick": _after_tick(lambda f, c: remind(f, c, senders), checkpointer),
        },
        daemon=True,
    )
    worker.start()
    click.echo(f"  定时器工作进程已启动；网站：http://{host}:{port}/")
    # app.run() refuses to block inside the flask CLI; serve with werkzeug directly
    from werkzeug.serving import run_simple

    from webapp.security import QuietRequestHandler

    run_simple(host, port, app, use_reloader=False, threaded=True, request_handler=QuietRequestHandler)
