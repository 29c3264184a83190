"""`zhicheng bpmn …`: thin wrappers over `engine.bpmn_check`."""

from __future__ import annotations

from pathlib import Path

import click

from engine.bpmn_check import check_bpmn_with_summary


@click.group("bpmn")
def bpmn_cli() -> None:
    """BPMN diagrams and their forms."""


@bpmn_cli.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--campaign",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Campaign file for the dry run (default: PATH's campaigns/cq-2020-senior.toml).",
)
def check_command(path: Path | None, campaign: Path | None) -> None:
    """Check PATH (a .bpmn file or a folder; default: the shipped bpmn/ folder) before deploying.

    Validates XML, the BPMN 2.0 and spiffworkflow XSDs, diagram shapes and edges, SpiffWorkflow parsing,
    every expression and script, user-task forms in forms/, lanes and stage task ids; then a dry run of
    every path through the engine with form data generated from the schemas. Prints each problem as
    `file:line: element_id: message` and exits 1 if there is any.
    """
    problems, summary = check_bpmn_with_summary(path, campaign)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(str(summary))
