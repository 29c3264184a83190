"""Segregation of duties: nobody acts as reviewer, reporter, committee or desk on their own application.

Roles alone do not prevent it (a unit admin may apply at their own unit), so the rule is checked on the
person, whatever memberships they hold, before any task runs. The task's lane in the deployed BPMN says
whose task it is: only the applicant's lane is open to the applicant.
"""

from __future__ import annotations

from engine import rules
from engine.errors import OwnApplication
from engine.runtime import Actor, Application


def refuse_own_application(app: Application, stage: str, actor: Actor, app_id: int) -> None:
    """Raise OwnApplication if `actor` is the applicant and `stage` is not a task of the applicant's lane."""
    if actor.user_id != app.applicant_id:
        return
    spec = app.deployment.spec.task_specs.get(stage)
    if spec is None:  # no such task: the runtime refuses it with its own message
        return
    if rules.LANE_TIERS.get(spec.lane or "") != "applicant":
        label = spec.bpmn_name or stage
        raise OwnApplication(
            f"不能办理本人的申请书：「{label}」须由申报人以外的人员办理（回避原则）",
            application_id=app_id,
            stage=stage,
        )
