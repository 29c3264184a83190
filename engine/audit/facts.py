"""The facts of an application row that no workflow replay re-derives, as the chained history records them.

Who owns the application (and may see it), the applicant's name, the campaign, the pinned deployment and the
review chain (unit, tier 2, tier 3, committee, and any tier a BPMN lane names by org type, kept in
`application_org` and compared here as `extra_chain`) are written into the genesis (`started`) event's data when the
application is created. A later change to any of them must be its own event of type `facts_changed` whose
data holds `{"facts": {column: new value}}`; verify folds those over the genesis and compares the result with
the row, so editing a column behind the history's back is named as such.
"""

from __future__ import annotations

from engine.accounts.tiers import CHAIN_TIERS
from engine.events import RecordedEvent

from .problems import Problem

FACTS_CHANGED = "facts_changed"
LABELS = {
    "applicant_id": "申报人",
    "applicant_name": "申报人姓名",
    "campaign_id": "申报批次",
    "deployment_id": "部署版本",
    "unit_id": "所在单位",
    "tier2_id": "二级审核机构",
    "tier3_id": "三级审核机构",
    "committee_id": "评委会",
    "extra_chain": "其他层级办理机构",
    "created_at": "创建时间",
}


def genesis_data(deployment_id: str, campaign_id: str, chain: dict, applicant_name: str) -> dict:
    """The data of a `started` event: everything `recorded_facts` reads back (services.start_application)."""
    return {
        "chain": chain,
        "deployment_id": deployment_id,
        "campaign_id": campaign_id,
        "applicant_name": applicant_name,
    }


def row_facts(session, row) -> dict:
    """The facts as the application row (and its `application_org` rows) state them, keyed as LABELS."""
    from engine.store.queries import extra_chain  # the store imports this module: import at call time

    return {
        **{k: getattr(row, k) for k in LABELS if k != "extra_chain"},
        "extra_chain": extra_chain(session, row.id),
    }


def recorded_facts(events: list[RecordedEvent]) -> dict:
    """The row facts the history states: the genesis event, then every `facts_changed` event in order."""
    first = events[0]
    chain = first.data.get("chain") or {}
    facts = {
        "applicant_id": first.actor_id,
        "applicant_name": first.data.get("applicant_name"),
        "campaign_id": first.data.get("campaign_id"),
        "deployment_id": first.data.get("deployment_id"),
        "unit_id": chain.get("unit"),
        "tier2_id": chain.get("tier2"),
        "tier3_id": chain.get("tier3"),
        "committee_id": chain.get("committee"),
        "extra_chain": {k: v for k, v in chain.items() if k not in CHAIN_TIERS},
        "created_at": first.at,
    }
    for event in events[1:]:
        if event.event_type == FACTS_CHANGED:
            facts.update({k: v for k, v in event.data.get("facts", {}).items() if k in facts})
    return facts


def compare_facts(row_facts: dict, events: list[RecordedEvent]) -> list[Problem]:
    """One problem per row column that differs from what the history records."""
    if not events or events[0].event_type != "started":
        return [Problem("facts", "历史记录不是以“创建申请书”开始，无法核对申请书信息")]
    recorded = recorded_facts(events)
    problems = []
    for key, label in LABELS.items():
        want, got = recorded[key], row_facts.get(key)
        if key == "extra_chain" and key not in row_facts:
            continue  # a bundle exported before extra tiers existed: its chain has none to compare
        if want is None and key in ("applicant_name", "campaign_id"):
            problems.append(Problem("facts", f"创建记录中没有{label}（旧格式的历史），无法核对", 1))
        elif want != got:
            problems.append(
                Problem("facts", f"申请书的{label}为 {got}，历史记录为 {want}（{key} 被直接改动）", 1)
            )
    return problems
