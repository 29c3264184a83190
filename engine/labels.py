"""Words users read for things the engine stores as codes: decisions and form fields, from the deployed forms.

A review form's `decision` is a JSON-Schema `oneOf` of `{const, title}`: the title is what the notice calls the
choice ("审核通过上报评委会", "退回补正"). Reading it from the form keeps one source for each word.
"""

from __future__ import annotations

# Used only when a stage's form is unknown (a history event of a removed stage, a corrupted record).
GENERIC_DECISIONS = {
    "approve": "审核通过",
    "return": "退回补正",
    "not_recommend": "不予上报",
    "confirm": "已确认",
}


def _choices(schema: dict | None, key: str) -> dict[str, str]:
    prop = ((schema or {}).get("properties") or {}).get(key) or {}
    return {c["const"]: c.get("title", str(c["const"])) for c in prop.get("oneOf", []) if "const" in c}


def decision_label(deployment, stage: str | None, value) -> str:
    """A decision in words, as the stage's form titles it (审核通过上报 / 退回补正 …); never the code."""
    if value in (None, ""):
        return ""
    schema = None
    if deployment is not None and stage and stage in deployment.spec.task_specs:
        schema = deployment.form_schema(stage)
    return _choices(schema, "decision").get(value) or GENERIC_DECISIONS.get(value, "其他")


def field_title(deployment, stage: str | None, key: str) -> str:
    """A form field's title (推荐意见, 退回原因 …); the key itself never reaches a page."""
    schema = None
    if deployment is not None and stage and stage in deployment.spec.task_specs:
        schema = deployment.form_schema(stage)
    prop = ((schema or {}).get("properties") or {}).get(key) or {}
    return prop.get("title") or FIELD_FALLBACK.get(key, "其他内容")


FIELD_FALLBACK = {"decision": "审核结果", "opinion": "意见", "reason": "原因"}
