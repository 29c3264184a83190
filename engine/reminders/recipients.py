"""Who is reminded of a ready task: the members of the org holding it who may act on it, and the applicant
for their own tasks (the tasks the notice makes the applicant answer for, the onsite visit included)."""

from __future__ import annotations

from engine.stages import APPLICANT_TIER, ProcessModel


def org_roles(model: ProcessModel, stage: str) -> set[str]:
    """Roles of the holding org reminded of `stage`: those allowed to act on it (the task's `roles`)."""
    return set(model.roles(stage))


def reminds_applicant(model: ProcessModel, stage: str, tier: str | None) -> bool:
    """True when the applicant must act (their own lane) or answers for the stage (the onsite visit)."""
    return tier == APPLICANT_TIER or model.applicant_responsible(stage)
