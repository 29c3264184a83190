"""`zhicheng tick|worker|simulate|deploy`: the persisted engine from the command line.

Each command builds its own engine and sessions from the app's SQLALCHEMY_DATABASE_URI; the commands are
listed in STORE_COMMANDS for webapp.cli to register.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import sessionmaker

from calendars import TZ
from engine import timefmt
from engine.clock import FixedClock, SystemClock
from engine.db import make_engine
from engine.deployment import read_sources
from engine.errors import ZhichengError


def _session_factory():
    engine = make_engine(current_app.config["SQLALCHEMY_DATABASE_URI"])
    return sessionmaker(engine, expire_on_commit=False)


def _clock(session_factory, at: str | None):
    """--at wins; then the shared sandbox clock when ZHICHENG_SANDBOX=1; else real time."""
    if at:
        try:
            instant = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(
                f"{at!r} 不是 ISO 时间（例如 2020-12-04T09:00+08:00）", param_hint="--at"
            ) from None
        return FixedClock(instant if instant.tzinfo else instant.replace(tzinfo=TZ))
    if os.environ.get("ZHICHENG_SANDBOX") == "1" or current_app.config.get("ZHICHENG_SANDBOX"):
        from engine.store.sandbox import DbSandboxClock

        return DbSandboxClock(session_factory)
    return SystemClock()


def _fail(exc: ZhichengError):
    click.echo(f"错误：{exc}", err=True)
    sys.exit(1)


def _reminder_hook():
    """Reminders after each tick, with the channels configured in the environment (ZHICHENG_SMTP_*, ZHICHENG_SMS_SENDER)."""
    from engine.reminders.senders import senders_from_env
    from engine.reminders.service import remind

    senders = senders_from_env(os.environ)

    def hook(session_factory, clock):
        report = remind(session_factory, clock, senders)
        if report.swept.notifications or report.delivered.sent or report.delivered.failed:
            click.echo(
                f"提醒：新增 {report.swept.notifications} 条站内通知，发送 {report.delivered.sent} 条，"
                f"失败 {len(report.delivered.failed)} 条"
            )

    return hook


def _after_tick(*hooks):
    """Run each configured after-tick hook in turn (a None hook is one that is not configured)."""
    hooks = [h for h in hooks if h is not None]

    def run(session_factory, clock):
        for hook in hooks:
            hook(session_factory, clock)

    return run


def _print_report(report) -> None:
    for app_id, name, due_at in report.fired:
        click.echo(f"申请书 {app_id}: {name} （到期 {timefmt.instant(due_at)}）")
    for app_id, error in report.failed:
        click.echo(f"申请书 {app_id}: 失败 {error}", err=True)
    for app_id in report.incidents:
        click.echo(f"申请书 {app_id}: 多次失败，已记录事件单 (incident)", err=True)


@click.command("tick")
@click.option("--at", "at", default=None, help="Fire what is due at this ISO instant instead of now.")
@click.option("--batch", default=500, show_default=True, help="Applications claimed per round.")
@with_appcontext
def tick_command(at, batch):
    """Fire every timer due now and print what fired."""
    from engine.store.worker import tick

    factory = _session_factory()
    try:
        clock = _clock(factory, at)
        report = tick(factory, clock, batch)
        _print_report(report)
        _reminder_hook()(factory, clock)
    except ZhichengError as exc:
        _fail(exc)
    click.echo(
        f"fired {len(report.fired)} timer(s) in {report.applications} application(s); "
        f"{len(report.failed)} failed, {report.skipped} skipped"
    )


def worker_reporter(factory, clock, echo=True):
    """After each sweep: print it, count it for /metrics, and write this worker's heartbeat for /healthz."""
    from engine.ops import beat
    from webapp.ops.metrics import observe_tick

    def on_report(report):
        if echo:
            _print_report(report)
        observe_tick(report, clock.now())
        beat(factory, SystemClock().now(), fired=len(report.fired))

    return on_report


@click.command("worker")
@click.option("--interval", default=5.0, show_default=True, help="Seconds to sleep when nothing is due.")
@click.option("--once", is_flag=True, help="Run one sweep and exit.")
@click.option("--batch", default=100, show_default=True, help="Applications claimed per round.")
@with_appcontext
def worker_command(interval, once, batch):
    """Fire due timers in a loop; run several on PostgreSQL, they split the work."""
    from engine.store.worker import run_worker

    from .audit import worker_checkpointer

    factory = _session_factory()
    clock = _clock(factory, None)
    try:
        run_worker(
            factory,
            clock,
            interval=interval,
            once=once,
            batch=batch,
            on_report=worker_reporter(factory, clock),
            after_tick=_after_tick(_reminder_hook(), worker_checkpointer()),
        )
    except ZhichengError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("worker stopped")


@click.command("simulate")
@click.option(
    "--applicants",
    "-n",
    default=300,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many applicants.",
)
@click.option("--seed", default=2020, show_default=True, help="Random seed: same seed, same campaign.")
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes sharing the applicants (in cohorts).",
)
@click.option(
    "--database-url",
    default=None,
    help="Database to simulate on (default: the app's SQLALCHEMY_DATABASE_URI).",
)
@with_appcontext
def simulate_command(applicants, seed, workers, database_url):
    """Run the whole 2020 campaign for N applicants on a simulated clock against the configured database.

    A killed run is resumed by running the same command again."""
    from engine.store.simulate import batch_collector, simulate

    url = database_url or current_app.config["SQLALCHEMY_DATABASE_URI"]
    engine = make_engine(url)
    _require_schema(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with click.progressbar(length=1, label="模拟 2020 年评审批次") as bar:

        def step(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        if workers <= 1:  # this process runs the cohorts (else its workers tune their own)
            batch_collector()
        try:
            report = simulate(factory, applicants, seed, on_step=step, workers=workers, database_url=url)
        except ZhichengError as exc:
            _fail(exc)
    click.echo(
        f"{report.applicants} 名申报人，{report.actions} 次办理，{report.refused} 次被拒，"
        f"{report.timers_fired} 个定时器触发，用时 {report.seconds:.1f} 秒"
    )
    click.echo(
        f"速率：{report.actions / report.seconds:.1f} 次办理/秒，"
        f"{report.applicants / report.seconds:.1f} 份申请书/秒 ({platform.python_implementation()})"
    )
    import resource

    own, workers_usage = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = own.ru_utime + own.ru_stime + workers_usage.ru_utime + workers_usage.ru_stime
    click.echo(  # ru_maxrss is KiB on Linux; for children it is the largest single worker process
        f"CPU：{cpu:.1f} 秒（{cpu * 1000 / report.applicants:.1f} 毫秒/份）；峰值内存：本进程 "
        f"{own.ru_maxrss / 1024:.0f} MiB，最大的工作进程 {workers_usage.ru_maxrss / 1024:.0f} MiB"
    )
    for line in lock_lines(report.lock):
        click.echo(line)
    click.echo("计划：" + "，".join(f"{k} {v}" for k, v in sorted(report.plans.items())))
    click.echo("结果：" + "，".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())))


def lock_lines(lock) -> list[str]:
    """What the SQLite writer lock and the WAL checkpointer did (engine.db.LockStats), in simulate's words;
    nothing for a database without them (PostgreSQL, in-memory SQLite)."""
    lines = []
    if lock.transactions:
        lines.append(
            f"SQLite 写锁：{lock.transactions} 个写事务，持有共 {lock.held:.1f} 秒"
            f"（平均 {lock.held * 1000 / lock.transactions:.2f} 毫秒）；{lock.contended} 次等待其他进程，"
            f"共 {lock.waited:.1f} 秒" + (f"；{lock.timeouts} 次等待超时" if lock.timeouts else "")
        )
    if lock.checkpoints or lock.checkpoint_failures:
        restarts = ""
        if lock.wal_restarts or lock.wal_restart_busy:  # the WAL grew past WAL_RESTART_PAGES
            restarts = f"；WAL 回卷 {lock.wal_restarts} 次" + (
                f"（另有 {lock.wal_restart_busy} 次因仍有读者推迟）" if lock.wal_restart_busy else ""
            )
        lines.append(
            f"WAL 检查点（后台线程）：{lock.checkpoints} 次，共 {lock.checkpoint_time:.1f} 秒"
            f"（平均 {lock.checkpoint_time * 1000 / max(lock.checkpoints, 1):.1f} 毫秒）"
            + (f"；{lock.checkpoint_failures} 次失败" if lock.checkpoint_failures else "")
            + restarts
        )
    return lines


def _require_schema(engine) -> None:
    """Exit 1 naming the database when its tables were never created (`db upgrade` ran on another one)."""
    from sqlalchemy import inspect

    from engine.store.tables import ApplicationRow, DeploymentRow, HistoryEvent

    missing = {t.__tablename__ for t in (ApplicationRow, DeploymentRow, HistoryEvent)} - set(
        inspect(engine).get_table_names()
    )
    if missing:
        shown = engine.url.render_as_string(hide_password=True)
        click.echo(
            f"错误：数据库 {shown} 尚未建表（缺少 {', '.join(sorted(missing))}）：请先对同一个数据库运行 "
            f"DATABASE_URL={shown} zhicheng db upgrade",
            err=True,
        )
        sys.exit(1)


@click.command("deploy")
@click.option(
    "--bpmn-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="BPMN folder (default: the shipped bpmn/).",
)
@click.option("--campaign", default=None, help="Campaign file (default: the 2020 campaign).")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the process of a campaign already deployed under the same id (its applications stay pinned).",
)
@with_appcontext
def deploy_command(bpmn_dir, campaign, replace):
    """Store the BPMN, forms and campaign as a deployment (once per content hash) and make it current."""
    from engine.store.services import deploy

    factory = _session_factory()
    try:
        with factory() as session:
            info = deploy(session, SystemClock(), read_sources(bpmn_dir, campaign), replace=replace)
    except ZhichengError as exc:
        _fail(exc)
    click.echo(f"{'已部署' if info.created else '已存在，设为当前'} {info.campaign_id} {info.id}")


STORE_COMMANDS = [tick_command, worker_command, simulate_command, deploy_command]
