"""Process variables the engine sets, in one place. No form may set them.

A task's form data is merged into the process data and the BPMN's gateways and timers read that data, so a
field called `has_tier2` or `return_stage` in a submitted form would steer the process. The engine therefore
accepts only the fields a task's JSON Schema declares (engine.forms.validate_form) and a schema may not declare
any of the names below (engine.forms.check_form_schema). The BPMN process's <documentation> lists them too,
for policy staff writing conditions; a test keeps both lists equal.
"""

from __future__ import annotations

# name -> what it holds (Chinese, as the BPMN documentation shows it)
ENGINE_VARIABLES: dict[str, str] = {
    "applicant_id": "申报人的用户编号（开始时设置）",
    "chain": "审核链：各层级审核机构的编号（开始时按申报人所在单位设置）",
    "has_tier2": "审核链中是否有二级审核（区县主管部门或人事代理机构）",
    "return_stage": "最近一次退回的环节 id；未退回时为空",
    "return_count": "已退回的次数",
    "notice_done": "公示期是否已满",
    "last_stage": "最近办理的环节 id",
    "reviews": "各环节的审核意见记录",
    "committees": "各申报系列受理的评委会编号（开始时按机构树设置；提交申报时按所选系列确定评委会）",
}

# `<stage>_completed_at`: when the task with that id was last completed (ISO time on the engine clock)
COMPLETED_AT_SUFFIX = "_completed_at"
# `has_<tier>`: whether the review chain has an optional tier (a lane with `optional="true"`, engine.stages)
HAS_TIER_PREFIX = "has_"


def is_engine_variable(name: str) -> bool:
    """True for a name the engine sets, which form data must never carry."""
    return name in ENGINE_VARIABLES or name.endswith(COMPLETED_AT_SUFFIX) or name.startswith(HAS_TIER_PREFIX)
