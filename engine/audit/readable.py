"""Process data as an auditor reads it: Chinese field names and values, never keys, ids or Python reprs.

Field names come from the deployment's forms (JSON-Schema titles) and the stage model; the few fields the
engine itself keeps are named here. Values: stage ids become labels, decisions their form titles, instants
local time (engine.timefmt), file refs their upload names, nested data "名称：值" lines.
"""

from __future__ import annotations

from datetime import datetime

from engine import labels, timefmt

# Fields the engine writes into the process data itself (engine.runtime), by their meaning.
ENGINE_FIELDS = {
    "applicant_id": "申报人账号编号",
    "chain": "审核链（各级单位）",
    "return_stage": "退回环节",
    "return_count": "退回次数",
    "notice_done": "公示已完成",
    "last_stage": "最近办理的环节",
    "reviews": "审核意见记录",
    "decision": "审核结果",
    "opinion": "意见",
    "reason": "原因",
}
TIER_NAMES = {"unit": "单位", "tier2": "二级审核单位", "tier3": "三级审核单位", "committee": "评委会"}
STAGE_VALUED = {"return_stage", "last_stage"}
COMPLETED_SUFFIX = "_completed_at"


def _titles(deployment) -> dict[str, str]:
    titles: dict[str, str] = {}
    for schema in (deployment.forms or {}).values():
        for key, prop in ((schema or {}).get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("title"):
                titles.setdefault(key, prop["title"])
                for sub_key, sub in ((prop.get("items") or {}).get("properties") or {}).items():
                    if isinstance(sub, dict) and sub.get("title"):
                        titles.setdefault(sub_key, sub["title"])
                for sub_key, sub in (prop.get("properties") or {}).items():
                    if isinstance(sub, dict) and sub.get("title"):
                        titles.setdefault(sub_key, sub["title"])
    return titles


def field_name(deployment, key: str) -> str:
    """A process-data key in words."""
    model = deployment.model
    if key.endswith(COMPLETED_SUFFIX):
        return f"「{model.label(key[: -len(COMPLETED_SUFFIX)])}」办理时间"
    if key.startswith("has_") and key[4:] in TIER_NAMES:
        return f"有{TIER_NAMES[key[4:]]}"
    if key in ENGINE_FIELDS:
        return ENGINE_FIELDS[key]
    return _titles(deployment).get(key) or "其他流程数据"


def value_text(deployment, key: str, value, names: dict[str, str] | None = None) -> str:
    """A process-data value in words."""
    names = names or {}
    if value is None or value == "" or value == []:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in STAGE_VALUED and isinstance(value, str):
        return deployment.model.label(value) if value in deployment.model.stages else "（无）"
    if key == "decision":
        return labels.decision_label(deployment, None, value)
    if isinstance(value, str):
        if value.startswith("sha256:"):
            return names.get(value[7:]) or "附件"
        if key.endswith(COMPLETED_SUFFIX) or key.endswith("_at"):
            try:
                return timefmt.instant(datetime.fromisoformat(value))
            except ValueError:
                return value
        return value
    if key == "chain" and isinstance(value, dict):
        lanes = deployment.model.lane_names() if deployment is not None and deployment.model else {}
        return "；".join(
            f"{TIER_NAMES.get(t) or lanes.get(t, '审核单位')}：{'有' if v else '无'}"
            for t, v in value.items()
        )
    if key == "reviews" and isinstance(value, list):
        return f"{len(value)} 条"
    if isinstance(value, dict):
        return "；".join(
            f"{field_name(deployment, k)}：{value_text(deployment, k, v, names)}" for k, v in value.items()
        )
    if isinstance(value, list):
        return "、".join(value_text(deployment, key, v, names) for v in value)
    return str(value)
