"""Segregation of duties: nobody acts as reviewer, reporter, committee or desk on their own application.

Roles alone do not prevent it (a unit admin may apply at their own unit), so the rule is checked on the
person, whatever memberships they hold, before any task runs. The deployment's stage model (read from the
BPMN's lanes) says whose task it is: only the applicant's own stages are open to the applicant.
"""

from __future__ import annotations

from engine.errors import OwnApplication
from engine.runtime import Actor, Application


def refuse_own_application(app: Application, stage: str, actor: Actor, app_id: int) -> None:
    """Raise OwnApplication if `actor` is the applicant and `stage` is not one of the applicant's stages."""
    if actor.user_id != app.applicant_id:
        return
    model = app.deployment.model
    if model is not None:
        found = model.stages.get(stage)
        by_applicant, label = (True, "") if found is None else (found.by_applicant, found.label)
    else:  # a deployment read before the stage model: ask the ready task's lane
        ready = next((t for t in app.ready_tasks() if t.stage == stage), None)
        by_applicant, label = (True, "") if ready is None else (ready.tier == "applicant", ready.label)
    if by_applicant:  # the applicant's own task, or no such task (the runtime refuses that itself)
        return
    raise OwnApplication(
        f"不能办理本人的申请书：「{label}」须由申报人以外的人员办理（回避原则）",
        application_id=app_id,
        stage=stage,
    )
