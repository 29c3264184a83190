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
def check_command(path: Path | None) -> None:
    """Check PATH (a .bpmn file or a folder; default: the shipped bpmn/ folder) before deploying.

    Validates XML, the BPMN 2.0 and spiffworkflow XSDs, diagram shapes and edges, SpiffWorkflow parsing,
    every expression and script, user-task forms in forms/, lanes and stage task ids. Prints each
    problem as `file:line: element_id: message` and exits 1 if there is any.
    """
    problems, summary = check_bpmn_with_summary(path)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(str(summary))
