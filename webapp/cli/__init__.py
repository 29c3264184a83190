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

cli = FlaskGroup(create_app=create_app, add_default_commands=True, help="zhicheng 职称网报系统 command line.")
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
    """Entry point; a database that is down or not yet upgraded is a one-line error, not a traceback."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        cli.main(prog_name="zhicheng")
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        click.echo(
            f"错误：数据库不可用或结构未升级（{reason}）；请检查 DATABASE_URL 并运行 zhicheng db upgrade",
            err=True,
        )
        sys.exit(1)
