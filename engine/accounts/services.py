"""The account use cases in one import: people (register, log in, passwords) and the org tree."""
from __future__ import annotations

from .orgs import (
                   OrgInfo,
                   active_orgs_of_types,
                   add_reviewer,
                   confirm_org,
                   create_hr_agency,
                   create_preset_org,
                   get_org,
                   list_members,
                   list_pending_children,
                   org_info,
                   org_tree,
                   orgs_registered_by,
                   orgs_visible_to,
                   register_org,
                   reject_org,
)
from .people import (
                   LOCK_DURATION,
                   MAX_FAILED_LOGINS,
                   MembershipInfo,
                   UserProfile,
                   authenticate,
                   change_password,
                   create_staff_user,
                   format_local,
                   register_person,
                   user_profile,
)
from .tiers import PARENT_TYPES, SELF_REGISTERED_TYPES, TIER, TYPE_LABELS, review_chain, tier

__all__ = [
    "LOCK_DURATION", "MAX_FAILED_LOGINS", "PARENT_TYPES", "SELF_REGISTERED_TYPES", "TIER", "TYPE_LABELS",
    "MembershipInfo", "OrgInfo", "UserProfile", "active_orgs_of_types", "add_reviewer", "authenticate",
    "change_password", "confirm_org", "create_hr_agency", "create_preset_org", "create_staff_user",
    "format_local", "get_org", "list_members", "list_pending_children", "org_info", "org_tree",
    "orgs_registered_by", "orgs_visible_to", "register_org", "register_person", "reject_org",
    "review_chain", "tier", "user_profile",
]
