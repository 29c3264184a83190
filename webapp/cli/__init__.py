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


def create_cli_app():
    """The app as the command line sees it: it signs no cookies, so it may run without ZHICHENG_SECRET_KEY."""
    return create_app({"ZHICHENG_CLI": True})


cli = FlaskGroup(
    create_app=create_cli_app, add_default_commands=True, help="zhicheng 职称网报系统 command line."
)
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
    """Run the command line; an unexpected error is one line on stderr and exit 1, never a traceback
    (ZHICHENG_DEBUG=1 shows the traceback to whoever debugs it)."""
    import os
    import sys

    from engine.errors import ZhichengError

    try:
        cli.main(prog_name="zhicheng")
    except ZhichengError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 (the contract: message and exit 1, whatever went wrong)
        if os.environ.get("ZHICHENG_DEBUG") == "1":
            raise
        print(
            f"错误：命令未完成（{type(exc).__name__}: {exc}）；设置 ZHICHENG_DEBUG=1 可查看详细信息",
            file=sys.stderr,
        )
        sys.exit(1)
