"""`zhicheng campaign …`: check the campaign file policy staff edit for each annual notice."""

from __future__ import annotations

import click

from engine.campaign import load_campaign
from engine.campaign_lint import lint_campaign
from engine.errors import CampaignError


@click.group("campaign")
def campaign_cli():
    """Campaign files (one per annual notice)."""


@campaign_cli.command("lint")
@click.argument("file", type=click.Path(dir_okay=False))
def lint_command(file: str) -> None:
    """Check FILE's keys and dates against its BPMN (the *.bpmn beside its campaigns/ folder, else the
    shipped one): a window for every stage and none without one, and the dates' order; exit 1 on any error."""
    try:
        campaign = load_campaign(file)
    except CampaignError as exc:
        click.echo(str(exc), err=True)
        click.echo(f"{file}: 未能读取，共 {len(exc.problems)} 处问题", err=True)
        raise SystemExit(1) from None
    findings = lint_campaign(campaign)
    for finding in findings:
        click.echo(str(finding))
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    click.echo(f"{file}: {campaign.id}，{errors} 个错误，{warnings} 个警告")
    if errors:
        raise SystemExit(1)
