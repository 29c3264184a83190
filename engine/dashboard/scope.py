"""Whose dashboard: the viewer's org and the applications it may count, and the page's filters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.models import Membership, Org
from engine.errors import NotFound
from engine.store.tables import ApplicationRow

DASHBOARD_ORG_TYPES = ("district_hr_office", "municipal_dept", "committee", "city_hr_office")
# The column of the application row naming "the org below" the viewer, per viewer type.
_BELOW = {
    "city_hr_office": "tier3_id",
    "committee": "tier3_id",
    "district_hr_office": "tier2_id",
    "municipal_dept": "unit_id",
}


@dataclass(frozen=True)
class Scope:
    org_id: int
    org_name: str
    org_type: str

    def where(self) -> list:
        """The SQL conditions selecting the applications this org may count (none: the whole city)."""
        if self.org_type == "city_hr_office":
            return []
        if self.org_type == "committee":
            return [ApplicationRow.committee_id == self.org_id]
        return [ApplicationRow.tier3_id == self.org_id]

    @property
    def below(self):
        return getattr(ApplicationRow, _BELOW[self.org_type])


def scopes_of(session: Session, user_id: int) -> list[Scope]:
    """The dashboards a person may open: the orgs of dashboard types they are a member of."""
    rows = session.execute(
        select(Org.id, Org.name, Org.type)
        .join(Membership, Membership.org_id == Org.id)
        .where(Membership.user_id == user_id, Org.type.in_(DASHBOARD_ORG_TYPES), Org.status == "active")
        .distinct()
        .order_by(Org.id)
    )
    return [Scope(*r) for r in rows]


def scope_for(session: Session, user_id: int, org_id: int) -> Scope:
    """The viewer's scope at `org_id`; NotFound when they are not a member of it (never leak its existence)."""
    for scope in scopes_of(session, user_id):
        if scope.org_id == org_id:
            return scope
    raise NotFound(f"机构（编号 {org_id}）的统计页不存在", org_id=org_id)


@dataclass(frozen=True)
class Filters:
    campaign_id: str | None = None
    series: str | None = None

    def where(self) -> list:
        conds = []
        if self.campaign_id:
            conds.append(ApplicationRow.campaign_id == self.campaign_id)
        if self.series:
            conds.append(ApplicationRow.series == self.series)
        return conds
