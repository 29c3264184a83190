"""Invitations: an org admin offers a role to an existing account, and only that person can accept it.

Adding an existing account straight into an org used to happen without the person's consent; now it waits
on their own 我的单位 page. Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import AlreadyHandled, FormInvalid, NotFound

from .models import Invitation, Membership, Org, User
from .tiers import TYPE_LABELS

ROLE_LABELS = {"admin": "管理员", "reviewer": "审核人员", "desk": "现场确认人员"}


@dataclass(frozen=True)
class InvitationInfo:
    id: int
    org_id: int
    org_name: str
    org_type_label: str
    role: str
    role_label: str
    invited_by_name: str
    created_at: datetime


def invite(session: Session, clock: Clock, *, org_id: int, user_id: int, role: str, invited_by: int) -> int:
    """Offer `role` in `org_id` to an existing user; return the invitation id. Raises FormInvalid if the
    person already holds that role or an invitation for it is pending."""
    held = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.org_id == org_id, Membership.role == role
        )
    )
    if held is not None:
        raise FormInvalid({"username": f"用户名或身份证号码：该用户已是本单位的{ROLE_LABELS[role]}"})
    pending = session.scalar(
        select(Invitation.id).where(
            Invitation.user_id == user_id,
            Invitation.org_id == org_id,
            Invitation.role == role,
            Invitation.status == "pending",
        )
    )
    if pending is not None:
        raise FormInvalid({"username": "用户名或身份证号码：已向该用户发出邀请，正在等待对方接受"})
    invitation = Invitation(
        org_id=org_id,
        user_id=user_id,
        role=role,
        invited_by_id=invited_by,
        status="pending",
        created_at=clock.now(),
    )
    session.add(invitation)
    session.flush()
    return invitation.id


def pending_for(session: Session, user_id: int) -> list[InvitationInfo]:
    """Invitations waiting for this person's answer, oldest first."""
    rows = session.execute(
        select(Invitation, Org, User.real_name)
        .join(Org, Org.id == Invitation.org_id)
        .join(User, User.id == Invitation.invited_by_id)
        .where(Invitation.user_id == user_id, Invitation.status == "pending")
        .order_by(Invitation.id)
    ).all()
    return [
        InvitationInfo(
            inv.id,
            org.id,
            org.name,
            TYPE_LABELS[org.type],
            inv.role,
            ROLE_LABELS[inv.role],
            by,
            inv.created_at,
        )
        for inv, org, by in rows
    ]


def _own_pending(session: Session, user_id: int, invitation_id: int) -> Invitation:
    inv = session.get(Invitation, invitation_id)
    if inv is None or inv.user_id != user_id:  # someone else's invitation does not exist for this user
        raise NotFound(f"邀请（编号 {invitation_id}）不存在", invitation_id=invitation_id)
    if inv.status != "pending":
        raise AlreadyHandled("该邀请已处理", invitation_id=invitation_id)
    return inv


def accept(session: Session, clock: Clock, *, user_id: int, invitation_id: int) -> InvitationInfo:
    """The invited person accepts: they gain the role. Raises NotFound (not theirs) or AlreadyHandled."""
    inv = _own_pending(session, user_id, invitation_id)
    inv.status, inv.decided_at = "accepted", clock.now()
    exists = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.org_id == inv.org_id, Membership.role == inv.role
        )
    )
    if exists is None:
        session.add(Membership(user_id=user_id, org_id=inv.org_id, role=inv.role))
    session.flush()
    return _info(session, inv)


def decline(session: Session, clock: Clock, *, user_id: int, invitation_id: int) -> InvitationInfo:
    """The invited person declines. Raises NotFound (not theirs) or AlreadyHandled."""
    inv = _own_pending(session, user_id, invitation_id)
    inv.status, inv.decided_at = "declined", clock.now()
    session.flush()
    return _info(session, inv)


def _info(session: Session, inv: Invitation) -> InvitationInfo:
    org = session.get(Org, inv.org_id)
    by = session.get(User, inv.invited_by_id)
    return InvitationInfo(
        inv.id,
        org.id,
        org.name,
        TYPE_LABELS[org.type],
        inv.role,
        ROLE_LABELS[inv.role],
        by.real_name if by else "",
        inv.created_at,
    )
