"""`zhicheng scenario run FILE...`: check BPMN and campaign edits against scenario files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import paths
from engine.coverage import Coverage
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
@click.option(
    "--coverage",
    is_flag=True,
    help="Report the sequence flows, gateway branches and deadline timers the scenarios exercised, per BPMN, "
    "and write <bpmn>.coverage.txt and <bpmn>.coverage.svg (covered flows marked) into --coverage-dir.",
)
@click.option(
    "--coverage-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("scenario-coverage"),
    show_default=True,
    help="Folder for the coverage report and diagram.",
)
def run_command(files, bpmn_dir, coverage, coverage_dir):
    """Run scenario FILES (default: every shipped scenario) and report each expectation; exit 1 if any fails.

    A file that does not follow the scenario format is reported (file, step, key) and skipped. With
    --coverage, also report per BPMN which flows, gateway branches and deadline timers were exercised.
    """
    if not files:
        files = sorted((bpmn_dir or paths.bpmn_dir()).joinpath("scenarios").glob("*.yaml"))
        if not files:
            click.echo("错误：没有场景文件 (no scenarios/*.yaml in the BPMN folder)", err=True)
            sys.exit(1)
    failed = 0
    covered = Coverage()
    for path in files:
        try:
            result = run_scenario(path, bpmn_dir)
        except ZhichengError as exc:  # a malformed file: report it and go on with the next one
            text = str(exc)
            click.echo(f"错误  {text if str(path) in text else f'{path}: {text}'}", err=True)
            failed += 1
            continue
        for workflow in result.workflows:
            covered.add(result.deployment, workflow)
        mark = "通过" if result.ok else "失败"
        click.echo(f"{mark}  {result.name}  ({path})")
        for step in result.steps:
            for failure in step.failures:
                click.echo(f"    {step.label}：{failure}")
        failed += 0 if result.ok else 1
    click.echo(f"{len(files) - failed} 个场景通过，{failed} 个失败")
    if coverage:
        _write_coverage(covered, coverage_dir)
    sys.exit(1 if failed else 0)


def _write_coverage(coverage: Coverage, folder: Path) -> None:
    """Print each BPMN file's coverage and write it beside its diagram with the covered flows marked."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        items = list(coverage)
        for item in items:
            report = item.report()
            stem = Path(item.name).stem
            if sum(1 for other in items if other.name == item.name) > 1:  # same name, another procedure
                stem += f"-{item.digest[:8]}"
            (folder / f"{stem}.coverage.txt").write_text(report + "\n", encoding="utf-8")
            (folder / f"{stem}.coverage.svg").write_text(item.svg(), encoding="utf-8")
            click.echo(report)
            click.echo(f"覆盖图：{folder / f'{stem}.coverage.svg'}")
    except OSError as exc:
        click.echo(f"错误  无法写入覆盖报告 {folder}：{exc.strerror}", err=True)
        sys.exit(1)
