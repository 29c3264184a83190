"""The `zhicheng` command: a Flask CLI group whose sub-groups are thin wrappers over engine functions."""

from __future__ import annotations

from flask.cli import FlaskGroup

from webapp import create_app

from .audit import audit_cli
from .bpmn import bpmn_cli
from .calendar import calendar_cli
from .campaign import campaign_cli
from .demo import demo_command
from .org import org_cli, user_cli
from .scenario import scenario_cli
from .store import STORE_COMMANDS

cli = FlaskGroup(create_app=create_app, add_default_commands=True, help="zhicheng 职称网报系统 command line.")
for command in (
    *STORE_COMMANDS,
    demo_command,
    audit_cli,
    bpmn_cli,
    calendar_cli,
    campaign_cli,
    org_cli,
    scenario_cli,
    user_cli,
):
    cli.add_command(command)


def main() -> None:
    cli.main(prog_name="zhicheng")
