"""`zhicheng calendar …` (filled by the calendar work)."""
from __future__ import annotations

import click


@click.group("calendar")
def calendar_cli():
    """Working-day calendar (Asia/Shanghai)."""
