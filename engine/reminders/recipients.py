"""Who is reminded of a ready task: the members of the org holding it who may act on it, and the applicant
for their own tasks (the tasks the notice makes the applicant answer for, the onsite visit included)."""

from __future__ import annotations

from engine import rules


def org_roles(stage: str) -> set[str]:
    """Roles of the holding org reminded of `stage`: those allowed to act on it."""
    return set(rules.STAGE_ROLES.get(stage, rules.DEFAULT_REVIEW_ROLES))


def reminds_applicant(stage: str, tier: str | None) -> bool:
    """True when the applicant must act (their own lane) or answers for the stage (the onsite visit)."""
    return tier == "applicant" or stage in rules.APPLICANT_RESPONSIBLE
