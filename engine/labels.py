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


_BOUNDARY: dict[str, dict[str, tuple[str, str]]] = {}  # deployment id -> timer id -> (attached task, name)
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _boundaries(deployment) -> dict[str, tuple[str, str]]:
    cached = _BOUNDARY.get(deployment.id)
    if cached is None:
        from lxml import etree

        cached = {}
        for name, text in deployment.sources.items():
            if not name.endswith(".bpmn"):
                continue
            root = etree.fromstring(text.encode("utf-8"))
            for el in root.iter(f"{{{BPMN_NS}}}boundaryEvent"):
                cached[el.get("id")] = (el.get("attachedToRef") or "", el.get("name") or "")
        _BOUNDARY[deployment.id] = cached
    return cached


def timer_label(deployment, timer_id: str | None) -> str:
    """A fired timer in words: 「单位审核」截止（到期） for a deadline, 单位公示期满 for a wait; never its id."""
    if deployment is None or not timer_id:
        return "定时事件"
    model = deployment.model
    if timer_id in model.waits:
        return f"{model.waits[timer_id].label}期满"
    attached, name = _boundaries(deployment).get(timer_id, ("", ""))
    if attached:
        return f"「{model.label(attached)}」{name or '截止'}（到期）"
    return "定时事件"


def event_text(deployment, event_type: str, stage: str | None, data: dict) -> str:
    """One history event as the applicant's and reviewers' timeline reads it."""
    if event_type == "started":
        return "创建申请书"
    if event_type == "completed":
        label = deployment.model.label(stage) if deployment is not None and stage else "办理"
        who = data.get("actor_name") or ""
        decision = (data.get("form") or {}).get("decision")
        outcome = f"（{decision_label(deployment, stage, decision)}）" if decision else ""
        return f"{label}：{who} 办理{outcome}"
    if event_type == "timer_fired":
        return timer_label(deployment, stage)
    return "系统记录"
