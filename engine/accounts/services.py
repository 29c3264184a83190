"""The account use cases in one import: people (register, log in, passwords) and the org tree."""

from __future__ import annotations

from .invitations import InvitationInfo
from .invitations import accept as accept_invitation
from .invitations import decline as decline_invitation
from .invitations import pending_for as pending_invitations
from .orgs import (
    MemberAdded,
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
    MembershipInfo,
    UserProfile,
    authenticate,
    change_password,
    clear_login_throttle,
    create_staff_user,
    end_sessions,
    login_throttles,
    register_person,
    reset_password,
    session_version,
    user_profile,
)
from .tiers import PARENT_TYPES, SELF_REGISTERED_TYPES, TIER, TYPE_LABELS, review_chain, tier

__all__ = [
    "PARENT_TYPES",
    "SELF_REGISTERED_TYPES",
    "TIER",
    "TYPE_LABELS",
    "InvitationInfo",
    "MemberAdded",
    "MembershipInfo",
    "accept_invitation",
    "decline_invitation",
    "pending_invitations",
    "OrgInfo",
    "UserProfile",
    "active_orgs_of_types",
    "add_reviewer",
    "authenticate",
    "change_password",
    "confirm_org",
    "create_hr_agency",
    "create_preset_org",
    "clear_login_throttle",
    "create_staff_user",
    "end_sessions",
    "get_org",
    "list_members",
    "login_throttles",
    "list_pending_children",
    "org_info",
    "org_tree",
    "orgs_registered_by",
    "orgs_visible_to",
    "register_org",
    "register_person",
    "reset_password",
    "session_version",
    "reject_org",
    "review_chain",
    "tier",
    "user_profile",
]
