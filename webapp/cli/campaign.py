"""`zhicheng campaign …` (filled by the campaign work)."""
from __future__ import annotations

import click


@click.group("campaign")
def campaign_cli():
    """Campaign files (one per annual notice)."""
