"""The `zhicheng` command: a Flask CLI group whose sub-groups are thin wrappers over engine functions."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from webapp import create_app

from .audit import audit_cli
from .backup import BACKUP_COMMANDS
from .bpmn import bpmn_cli
from .calendar import calendar_cli
from .campaign import campaign_cli
from .config import config_cli
from .demo import demo_command
from .org import org_cli, user_cli
from .scenario import scenario_cli
from .store import STORE_COMMANDS


def create_cli_app():
    """The app as the command line sees it: it signs no cookies, so it may run without ZHICHENG_SECRET_KEY."""
    return create_app({"ZHICHENG_CLI": True})


cli = FlaskGroup(
    create_app=create_cli_app, add_default_commands=True, help="zhicheng 职称网报系统 command line."
)
for command in (
    *STORE_COMMANDS,
    *BACKUP_COMMANDS,
    demo_command,
    audit_cli,
    bpmn_cli,
    calendar_cli,
    campaign_cli,
    config_cli,
    org_cli,
    scenario_cli,
    user_cli,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: every error is one line on stderr and exit 1, never a traceback (ZHICHENG_DEBUG=1 shows the
    traceback to whoever debugs it). A database that is down or not yet upgraded says so."""
    import os

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from engine.errors import ZhichengError

    try:
        cli.main(prog_name="zhicheng")
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        click.echo(
            f"错误：数据库不可用或结构未升级（{reason}）；请检查 DATABASE_URL 并运行 zhicheng db upgrade",
            err=True,
        )
        sys.exit(1)
    except ZhichengError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 (the contract: message and exit 1, whatever went wrong)
        if os.environ.get("ZHICHENG_DEBUG") == "1":
            raise
        click.echo(
            f"错误：命令未完成（{type(exc).__name__}: {exc}）；设置 ZHICHENG_DEBUG=1 可查看详细信息", err=True
        )
        sys.exit(1)
