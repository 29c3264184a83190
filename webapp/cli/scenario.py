"""`zhicheng scenario run FILE...`: check BPMN and campaign edits against scenario files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import paths
from engine.errors import ZhichengError
from engine.scenario import run_scenario


@click.group("scenario")
def scenario_cli():
    """Scenario files (YAML) that exercise the process on a simulated clock."""


@scenario_cli.command("run")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--bpmn-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="BPMN folder to test (default: the shipped bpmn/).",
)
def run_command(files, bpmn_dir):
    """Run scenario FILES (default: every shipped scenario) and report each expectation; exit 1 if any fails."""
    if not files:
        files = sorted((bpmn_dir or paths.bpmn_dir()).joinpath("scenarios").glob("*.yaml"))
        if not files:
            click.echo("错误：没有场景文件 (no scenarios/*.yaml in the BPMN folder)", err=True)
            sys.exit(1)
    failed = 0
    for path in files:
        try:
            result = run_scenario(path, bpmn_dir)
        except ZhichengError as exc:  # a malformed file: report it and go on with the next one
            text = str(exc)
            click.echo(f"错误  {text if str(path) in text else f'{path}: {text}'}", err=True)
            failed += 1
            continue
        mark = "通过" if result.ok else "失败"
        click.echo(f"{mark}  {result.name}  ({path})")
        for step in result.steps:
            for failure in step.failures:
                click.echo(f"    {step.label}：{failure}")
        failed += 0 if result.ok else 1
    click.echo(f"{len(files) - failed} 个场景通过，{failed} 个失败")
    sys.exit(1 if failed else 0)
