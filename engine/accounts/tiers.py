"""The org tree's rules (DESIGN.md §2): tier by type, allowed parents, and a unit's review chain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ChainIncomplete
from .models import Org

TIER = {
    "unit": 1,
    "district_dept": 2,
    "hr_agency": 2,
    "district_hr_office": 3,
    "municipal_dept": 3,
    "committee": 4,
    "city_hr_office": 5,  # not in any review chain; oversees every one
}
PARENT_TYPES: dict[str, tuple[str, ...]] = {
    "unit": ("district_dept", "hr_agency", "municipal_dept"),
    "district_dept": ("district_hr_office",),
    "hr_agency": ("district_hr_office",),
    "district_hr_office": ("committee",),
    "municipal_dept": ("committee",),
    "committee": (),
    "city_hr_office": (),
}
TYPE_LABELS = {
    "unit": "单位",
    "district_dept": "区县主管部门",
    "hr_agency": "区县人事代理机构",
    "district_hr_office": "区县人事（职改）部门",
    "municipal_dept": "市级主管部门",
    "committee": "评委会",
    "city_hr_office": "市职称改革办公室",
}
# The review-chain key (a BPMN lane's `tier` property) each tier of the tree stands for.
CHAIN_KEYS = {1: "unit", 2: "tier2", 3: "tier3", 4: "committee"}
# Parent and child must be in the same district for these child types.
SAME_DISTRICT = ("district_dept", "hr_agency")
# Types a person may register under 我的单位 → 单位注册; the others are created by the operator or HR offices.
SELF_REGISTERED_TYPES = ("unit", "district_dept", "municipal_dept")


def tier(org_type: str) -> int:
    """Tier 1 (unit) .. 4 (committee) of an org type."""
    return TIER[org_type]


def chain_key(org_type: str) -> str | None:
    """The review-chain key an org of this type fills (None outside any chain, e.g. the city office)."""
    return CHAIN_KEYS.get(TIER.get(org_type, 0))


def review_chain(session: Session, unit_id: int) -> dict[str, int | None]:
    """The unit's review chain {"unit", "tier2", "tier3", "committee"} by walking active parents.

    Raises ChainIncomplete when an org is missing, not active, or of a type the tree does not allow.
    """
    unit = session.get(Org, unit_id)
    if unit is None or unit.type != "unit":
        raise ChainIncomplete(f"单位（编号 {unit_id}）不存在或不是基层单位", org_id=unit_id)
    chain: dict[str, int | None] = {"unit": unit.id, "tier2": None, "tier3": None, "committee": None}
    node = unit
    while node.type != "committee":
        if node.status != "active":
            raise ChainIncomplete(
                f"“{node.name}”尚未确认绑定（状态：{node.status}），审核链不完整", org_id=node.id
            )
        parent = session.get(Org, node.parent_id) if node.parent_id else None
        if parent is None:
            raise ChainIncomplete(
                f"“{node.name}”没有上级单位，审核链不完整；请联系上级单位确认绑定", org_id=node.id
            )
        if parent.type not in PARENT_TYPES[node.type]:
            raise ChainIncomplete(
                f"“{node.name}”（{TYPE_LABELS[node.type]}）的上级“{parent.name}”是"
                f"{TYPE_LABELS[parent.type]}，不符合层级要求",
                org_id=node.id,
            )
        key = CHAIN_KEYS[TIER[parent.type]]
        chain[key] = parent.id
        node = parent
    if node.status != "active":
        raise ChainIncomplete(f"评委会“{node.name}”未启用，审核链不完整", org_id=node.id)
    return chain


def committees_by_series(session: Session) -> dict[str, int]:
    """Which committee receives each series: {series code: committee id} over active committees.

    A committee lists the series it reviews (`series_codes`, comma-separated); when two claim one series the
    earlier-created one receives it."""
    out: dict[str, int] = {}
    rows = session.execute(
        select(Org.id, Org.series_codes)
        .where(Org.type == "committee", Org.status == "active", Org.series_codes.is_not(None))
        .order_by(Org.id)
    )
    for org_id, codes in rows:
        for code in (c.strip() for c in (codes or "").split(",")):
            if code:
                out.setdefault(code, org_id)
    return out
