"""The HR offices' dashboard: summary queries over the index tables, scoped to the viewer's org.

A district HR office sees its district (applications whose tier 3 is the office), a municipal department its
units, a committee its series (applications it receives), the city HR office everything. Every number is a
GROUP BY over `application`, `work_item` or `history_event`; no workflow is ever loaded.
"""

from __future__ import annotations

from .page import PARTS, Page, campaigns, page
from .per_day import DayCount, per_day, per_day_cached
from .scope import DASHBOARD_ORG_TYPES, Filters, Scope, scope_for, scopes_of
from .tables import (
    ENDED_LABELS,
    MAX_AT_RISK_DAYS,
    AppLine,
    AtRisk,
    CountsTable,
    LapseRow,
    applications,
    at_risk,
    at_risk_count,
    column_key,
    column_label,
    counts,
    lapses,
    stage_labels,
)

__all__ = [
    "DASHBOARD_ORG_TYPES",
    "ENDED_LABELS",
    "MAX_AT_RISK_DAYS",
    "PARTS",
    "AppLine",
    "AtRisk",
    "CountsTable",
    "DayCount",
    "Filters",
    "LapseRow",
    "Page",
    "Scope",
    "applications",
    "at_risk",
    "at_risk_count",
    "campaigns",
    "column_key",
    "column_label",
    "counts",
    "lapses",
    "page",
    "per_day",
    "per_day_cached",
    "scope_for",
    "scopes_of",
    "stage_labels",
]
