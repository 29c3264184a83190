"""The org tree's rules (DESIGN.md §2): tier by type, allowed parents, and a unit's review chain."""

from __future__ import annotations

from sqlalchemy import bindparam, literal, select
from sqlalchemy.orm import Session

from engine.statements import Prepared  # compiled once: every start walks the chain

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
# The review-chain keys the walk up the org tree yields (review_chain), tier 1..4. A BPMN lane names one of
# these as its `tier`, or names the org type that acts (`orgType`) for a tier outside the walk (acting_org).
CHAIN_TIERS = ("unit", "tier2", "tier3", "committee")
# Parent and child must be in the same district for these child types.
SAME_DISTRICT = ("district_dept", "hr_agency")
# Types a person may register under 我的单位 → 单位注册; the others are created by the operator or HR offices.
SELF_REGISTERED_TYPES = ("unit", "district_dept", "municipal_dept")


def tier(org_type: str) -> int:
    """Tier 1 (unit) .. 4 (committee) of an org type."""
    return TIER[org_type]


def chain_key(org_type: str) -> str | None:
    """The review-chain key an org of this type fills in the walk up the tree (None outside it)."""
    number = TIER.get(org_type, 0)
    return CHAIN_TIERS[number - 1] if 1 <= number <= len(CHAIN_TIERS) else None


def review_chain(session: Session, unit_id: int) -> dict[str, int | None]:
    """The unit's review chain {"unit", "tier2", "tier3", "committee"} by walking active parents.

    Raises ChainIncomplete when an org is missing, not active, or of a type the tree does not allow.
    """
    nodes = _ancestry(session, unit_id)
    unit = nodes.get(unit_id)
    if unit is None or unit.type != "unit":
        raise ChainIncomplete(f"单位（编号 {unit_id}）不存在或不是基层单位", org_id=unit_id)
    chain: dict[str, int | None] = dict.fromkeys(CHAIN_TIERS)
    chain["unit"] = unit.id
    node = unit
    while node.type != "committee":
        if node.status != "active":
            raise ChainIncomplete(
                f"“{node.name}”尚未确认绑定（状态：{node.status}），审核链不完整", org_id=node.id
            )
        parent = nodes.get(node.parent_id) if node.parent_id else None
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
        key = CHAIN_TIERS[TIER[parent.type] - 1]
        chain[key] = parent.id
        node = parent
    if node.status != "active":
        raise ChainIncomplete(f"评委会“{node.name}”未启用，审核链不完整", org_id=node.id)
    return chain


_ORG = Org.__table__
_COLUMNS = (_ORG.c.id, _ORG.c.type, _ORG.c.status, _ORG.c.name, _ORG.c.parent_id)
MAX_DEPTH = 16  # more levels than the tree allows (PARENT_TYPES): a cycle in bad data still ends


def _ancestry_query():
    """An org and its ancestors, nearest first: one recursive query instead of one read per level (every
    start walks the chain)."""
    up = (
        select(*_COLUMNS, literal(0).label("depth"))
        .where(_ORG.c.id == bindparam("org_id"))
        .cte("up", recursive=True)
    )
    up = up.union_all(
        select(*_COLUMNS, (up.c.depth + 1).label("depth"))
        .join_from(_ORG, up, _ORG.c.id == up.c.parent_id)
        .where(up.c.depth < MAX_DEPTH)
    )
    return select(up.c.id, up.c.type, up.c.status, up.c.name, up.c.parent_id).order_by(up.c.depth)


_ANCESTRY = Prepared(_ancestry_query())


def _ancestry(session: Session, org_id: int) -> dict:
    """{org id: row (id, type, status, name, parent_id)} of an org and its ancestors, nearest first."""
    return {row.id: row for row in _ANCESTRY.all(session, {"org_id": org_id})}


_COMMITTEES = Prepared(
    select(_ORG.c.id, _ORG.c.series_codes)
    .where(_ORG.c.type == "committee", _ORG.c.status == "active", _ORG.c.series_codes.is_not(None))
    .order_by(_ORG.c.id)
)


def committees_by_series(session: Session) -> dict[str, int]:
    """Which committee receives each series: {series code: committee id} over active committees.

    A committee lists the series it reviews (`series_codes`, comma-separated); when two claim one series the
    earlier-created one receives it."""
    out: dict[str, int] = {}
    for org_id, codes in _COMMITTEES.all(session):
        for code in (c.strip() for c in (codes or "").split(",")):
            if code:
                out.setdefault(code, org_id)
    return out


def choose_acting_org(org_type: str, lane: str, ancestors: list[tuple], actives: list[int]) -> int:
    """The org of `org_type` that acts in `lane` for a unit: its ancestor of that type (nearest first,
    `ancestors` as (id, type, status, name) from the unit up), else the only active org of the type.

    Raises ChainIncomplete naming the lane when there is none, or several and none is an ancestor."""
    label = TYPE_LABELS.get(org_type, org_type)
    for org_id, kind, status, name in ancestors:
        if kind == org_type:
            if status != "active":
                raise ChainIncomplete(f"“{lane}”环节的办理机构“{name}”未启用，审核链不完整", org_id=org_id)
            return org_id
    if len(actives) == 1:
        return actives[0]
    if not actives:
        raise ChainIncomplete(
            f"流程的“{lane}”环节由{label}办理，但系统中没有已启用的{label}：请先建立并启用该机构",
            org_type=org_type,
        )
    raise ChainIncomplete(
        f"流程的“{lane}”环节由{label}办理，系统中有多个{label}且都不是所在单位的上级，"
        f"无法确定由谁办理：请把所在单位绑定到其中一个之下，或只保留一个启用的{label}",
        org_type=org_type,
    )


def acting_orgs(session: Session, unit_id: int, org_types: dict[str, str], lanes: dict[str, str]) -> dict:
    """{tier: org id} for the tiers a BPMN's lanes name by org type (stages.ProcessModel.org_types);
    `lanes` gives each tier's lane name for the messages. Raises ChainIncomplete."""
    if not org_types:
        return {}
    ancestors = [(n.id, n.type, n.status, n.name) for n in _ancestry(session, unit_id).values()]
    out = {}
    for tier, org_type in org_types.items():
        actives = list(
            session.scalars(
                select(Org.id).where(Org.type == org_type, Org.status == "active").order_by(Org.id).limit(2)
            )
        )
        out[tier] = choose_acting_org(org_type, lanes.get(tier, tier), ancestors, actives)
    return out


def unresolved_lanes(session: Session, org_types: dict[str, str], lanes: dict[str, str]) -> list[str]:
    """Why each lane naming an org type could act for no applicant: no active org of that type exists.
    (`deploy` refuses such a BPMN; which org acts for a given unit is decided at start, acting_orgs.)"""
    out = []
    for tier, org_type in org_types.items():
        found = session.scalar(select(Org.id).where(Org.type == org_type, Org.status == "active").limit(1))
        if found is None:
            label = TYPE_LABELS.get(org_type, org_type)
            out.append(
                f"泳道“{lanes.get(tier, tier)}”由{label}（orgType {org_type}）办理，但系统中没有已启用的{label}："
                f"请先建立并启用该机构（机构管理或 zhicheng org），再部署"
            )
    return out
