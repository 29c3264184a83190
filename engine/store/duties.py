"""Segregation of duties: nobody acts as reviewer, reporter, committee or desk on their own application.

Roles alone do not prevent it (a unit admin may apply at their own unit), so the rule is checked on the
person, whatever memberships they hold: by the gate (the task page shows it before the click) and again in
the unit of work. The deployment's stage model (read from the BPMN's lanes) says whose task a stage is.
"""

from __future__ import annotations

from engine.errors import OwnApplication


def own_application_refusal(deployment, stage: str, user_id: int, applicant_id: int, app_id: int):
    """The OwnApplication refusal if `user_id` is the applicant and `stage` is not an applicant's stage."""
    if user_id != applicant_id or deployment is None or deployment.model is None:
        return None
    found = deployment.model.stages.get(stage)
    if found is None or found.by_applicant:  # the applicant's own task, or no such task (refused elsewhere)
        return None
    return OwnApplication(
        f"不能办理本人的申请书：「{found.label}」须由申报人以外的人员办理（回避原则）",
        application_id=app_id,
        stage=stage,
    )


def refuse_own_application(deployment, stage: str, actor_id: int, applicant_id: int, app_id: int) -> None:
    """Raise OwnApplication if the actor is the applicant and `stage` is not one of the applicant's stages."""
    refusal = own_application_refusal(deployment, stage, actor_id, applicant_id, app_id)
    if refusal is not None:
        raise refusal
