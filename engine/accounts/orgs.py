"""Use cases for the org tree: registration and binding, preset orgs, HR agencies, reviewers, visibility.

Functions flush but never commit: the caller owns the transaction (one unit of work per action).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import AlreadyHandled, FormInvalid, NotFound, NotPermitted

from . import invitations
from . import validation as v
from .models import ORG_TYPES, ROLES, Membership, Org, User
from .people import create_staff_user, require_operator
from .tiers import PARENT_TYPES, SAME_DISTRICT, SELF_REGISTERED_TYPES, TYPE_LABELS


@dataclass(frozen=True)
class OrgInfo:
    id: int
    type: str
    type_label: str
    name: str
    credit_code: str | None
    parent_id: int | None
    district: str | None
    series_codes: tuple[str, ...]
    contact_person: str | None
    contact_phone: str | None
    status: str
    reject_reason: str | None
    certificate_sha256: str | None
    registered_by_id: int | None
    created_at: datetime


def org_info(org: Org) -> OrgInfo:
    """Plain data for one org row."""
    series = tuple(s.strip() for s in (org.series_codes or "").split(",") if s.strip())
    return OrgInfo(
        org.id,
        org.type,
        TYPE_LABELS[org.type],
        org.name,
        org.credit_code,
        org.parent_id,
        org.district,
        series,
        org.contact_person,
        org.contact_phone,
        org.status,
        org.reject_reason,
        org.certificate_sha256,
        org.registered_by_id,
        org.created_at,
    )


def get_org(session: Session, org_id: int) -> OrgInfo:
    """One org. Raises NotFound."""
    return org_info(_org(session, org_id))


def _org(session: Session, org_id: int | None, field: str | None = None) -> Org:
    org = session.get(Org, org_id) if org_id is not None else None
    if org is None:
        if field:
            raise FormInvalid({field: "上级单位：请选择一个已启用的上级单位"})
        raise NotFound(f"单位（编号 {org_id}）不存在", org_id=org_id)
    return org


def _is_admin(session: Session, user_id: int, org_id: int) -> bool:
    return (
        session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id, Membership.org_id == org_id, Membership.role == "admin"
            )
        )
        is not None
    )


def _add_membership(session: Session, user_id: int, org_id: int, role: str) -> None:
    if (
        session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id, Membership.org_id == org_id, Membership.role == role
            )
        )
        is None
    ):
        session.add(Membership(user_id=user_id, org_id=org_id, role=role))
        session.flush()


def _check_parent(org_type: str, parent: Org | None, district: str | None) -> str | None:
    """Validate the parent against DESIGN.md §2; return the district the child gets."""
    allowed = PARENT_TYPES[org_type]
    if not allowed:
        if parent is not None:
            raise FormInvalid({"parent_id": f"上级单位：{TYPE_LABELS[org_type]}没有上级单位"})
        return district
    if parent is None:
        raise FormInvalid({"parent_id": "上级单位：必须选择"})
    if parent.type not in allowed or parent.status != "active":
        names = "、".join(TYPE_LABELS[t] for t in allowed)
        raise FormInvalid({"parent_id": f"上级单位：{TYPE_LABELS[org_type]}的上级应为已启用的{names}"})
    if org_type in SAME_DISTRICT:
        if district and parent.district and district != parent.district:
            raise FormInvalid({"district": f"所在区县：应与上级“{parent.name}”相同（{parent.district}）"})
        return district or parent.district
    return district


def _check_credit_code(session: Session, code: str, allow_org_id: int | None = None) -> None:
    existing = session.scalar(select(Org).where(Org.credit_code == code))
    if existing is not None and existing.id != allow_org_id:
        raise FormInvalid({"credit_code": f"统一社会信用代码：已由“{existing.name}”注册"})


def _unregistered_code(session: Session, code: str) -> tuple[str, Org | None]:
    """A valid code no live registration holds, with the rejected registration to reuse (if any)."""
    code = v.credit_code(code)
    previous = session.scalar(select(Org).where(Org.credit_code == code))
    if previous is not None and previous.status != "rejected":
        raise FormInvalid({"credit_code": f"统一社会信用代码：已由“{previous.name}”注册"})
    return code, previous


def _certificate(sha256: str | None) -> str:
    if not sha256:
        raise FormInvalid({"certificate": "证照扫描件：必须上传"})
    return sha256


def _self_registered(org_type: str) -> str:
    if org_type not in SELF_REGISTERED_TYPES:
        raise FormInvalid({"org_type": "单位类型：只能注册单位、区县主管部门或市级主管部门"})
    return org_type


def register_org(
    session: Session,
    clock: Clock,
    *,
    actor_id: int,
    org_type: str,
    name: str,
    credit_code: str,
    parent_id: int | None,
    district: str | None,
    contact_person: str,
    contact_phone: str,
    certificate_sha256: str,
) -> OrgInfo:
    """我的单位 → 单位注册: a pending org awaiting its parent admin's confirmation. Raises FormInvalid naming
    every faulty field at once (the form shows them all on one try).

    A code whose earlier registration was rejected may be registered again (the row is reused).
    """
    known_type = org_type in SELF_REGISTERED_TYPES
    parent = session.get(Org, parent_id) if parent_id is not None else None
    name, (credit_code, previous), contact_person, contact_phone, _, _, district = v.collect(
        lambda: v.required(name, "name", "单位名称"),
        lambda: _unregistered_code(session, credit_code),
        lambda: v.required(contact_person, "contact_person", "联系人", 50),
        lambda: v.required(contact_phone, "contact_phone", "联系电话", 30),
        lambda: _certificate(certificate_sha256),
        lambda: _self_registered(org_type),
        lambda: _check_parent(org_type, parent, (district or "").strip() or None) if known_type else None,
    )
    org = previous or Org(credit_code=credit_code)
    org.type, org.name, org.parent_id, org.district = org_type, name, parent_id, district
    org.contact_person, org.contact_phone = contact_person, contact_phone
    org.certificate_sha256, org.registered_by_id = certificate_sha256, actor_id
    org.status, org.reject_reason, org.created_at, org.decided_at = "pending", None, clock.now(), None
    session.add(org)
    session.flush()
    return org_info(org)


def _pending_child_for(session: Session, actor_id: int, org_id: int) -> Org:
    org = _org(session, org_id)
    if org.parent_id is None or not _is_admin(session, actor_id, org.parent_id):
        raise NotPermitted(f"只有上级单位的管理员可以审核“{org.name}”的绑定申请", org_id=org_id)
    if org.status != "pending":
        raise AlreadyHandled(f"“{org.name}”的绑定申请已处理（状态：{org.status}）", org_id=org_id)
    return org


def confirm_org(session: Session, clock: Clock, *, actor_id: int, org_id: int) -> OrgInfo:
    """Parent admin confirms a binding; the registrant becomes the org's admin. Raises NotPermitted."""
    org = _pending_child_for(session, actor_id, org_id)
    org.status, org.decided_at = "active", clock.now()
    if org.registered_by_id is not None:
        _add_membership(session, org.registered_by_id, org.id, "admin")
    session.flush()
    return org_info(org)


def reject_org(session: Session, clock: Clock, *, actor_id: int, org_id: int, reason: str) -> OrgInfo:
    """Parent admin rejects a binding with a reason. Raises NotPermitted or FormInvalid."""
    org = _pending_child_for(session, actor_id, org_id)
    reason = v.required(reason, "reason", "退回原因", 500)
    org.status, org.reject_reason, org.decided_at = "rejected", reason, clock.now()
    session.flush()
    return org_info(org)


def create_preset_org(
    session: Session,
    clock: Clock,
    *,
    org_type: str,
    name: str,
    admin_username: str,
    admin_password: str,
    admin_real_name: str | None = None,
    parent_id: int | None = None,
    district: str | None = None,
    series_codes: str | None = None,
    credit_code: str | None = None,
    contact_person: str | None = None,
    contact_phone: str | None = None,
    actor_id: int | None = None,
) -> OrgInfo:
    """Operator creates an active org (committee, HR office, …) with a preset admin account.

    actor_id None means the system (CLI). Raises NotPermitted or FormInvalid.
    """
    require_operator(session, actor_id)
    if org_type not in ORG_TYPES:
        raise FormInvalid({"org_type": f"单位类型：未知类型 {org_type}"})
    name = v.required(name, "name", "单位名称")
    if credit_code:
        credit_code = v.credit_code(credit_code)
        _check_credit_code(session, credit_code)
    parent = session.get(Org, parent_id) if parent_id is not None else None
    district = _check_parent(org_type, parent, district)
    org = Org(
        type=org_type,
        name=name,
        credit_code=credit_code or None,
        parent_id=parent_id,
        district=district,
        series_codes=series_codes if org_type == "committee" else None,
        contact_person=contact_person,
        contact_phone=contact_phone,
        status="active",
        created_at=clock.now(),
        decided_at=clock.now(),
    )
    session.add(org)
    session.flush()
    admin = create_staff_user(
        session,
        clock,
        username=admin_username,
        real_name=admin_real_name or f"{name}管理员",
        password=admin_password,
    )
    _add_membership(session, admin.id, org.id, "admin")
    return org_info(org)


def create_hr_agency(
    session: Session,
    clock: Clock,
    *,
    actor_id: int,
    office_id: int,
    name: str,
    admin_username: str,
    admin_password: str,
    admin_real_name: str | None = None,
    credit_code: str | None = None,
    contact_person: str | None = None,
    contact_phone: str | None = None,
) -> OrgInfo:
    """A district HR office admin creates an HR agency under that office, with its admin account.

    Raises NotPermitted (not that office's admin) or FormInvalid.
    """
    office = _org(session, office_id)
    if office.type != "district_hr_office" or not _is_admin(session, actor_id, office.id):
        raise NotPermitted(f"只有“{office.name}”的管理员可以在其下创建人事代理机构", org_id=office_id)
    return create_preset_org(
        session,
        clock,
        org_type="hr_agency",
        name=name,
        admin_username=admin_username,
        admin_password=admin_password,
        admin_real_name=admin_real_name,
        parent_id=office.id,
        district=office.district,
        credit_code=credit_code,
        contact_person=contact_person,
        contact_phone=contact_phone,
    )


@dataclass(frozen=True)
class MemberAdded:
    """What add_reviewer did: created a new staff account, or invited an existing person."""

    user_id: int
    real_name: str
    username: str
    invited: bool


def add_reviewer(
    session: Session,
    clock: Clock,
    *,
    actor_id: int,
    org_id: int,
    role: str,
    username: str,
    real_name: str | None = None,
    password: str | None = None,
) -> MemberAdded:
    """Org admin adds reviewer or desk staff: an existing account (by username / ID number) gets an invitation
    it accepts on its own page; an unknown chosen username becomes a new staff account with that role.

    A username shaped like an ID number is never created here: it belongs to the person who registers it.
    Raises NotPermitted (not that org's admin) or FormInvalid.
    """
    org = _org(session, org_id)
    if not _is_admin(session, actor_id, org.id) or org.status != "active":
        raise NotPermitted(f"只有“{org.name}”的管理员可以为其添加审核人员", org_id=org_id)
    if role not in ROLES or role == "admin":
        raise FormInvalid({"role": "角色：只能是审核人员或现场确认人员"})
    username = v.required(username, "username", "用户名或身份证号码", 64)
    user = session.scalar(select(User).where(User.username.in_({username, username.upper()})))
    if user is not None:
        invitations.invite(session, clock, org_id=org.id, user_id=user.id, role=role, invited_by=actor_id)
        return MemberAdded(user.id, user.real_name, user.username, True)
    if v.ID_SHAPED_RE.match(username):
        raise FormInvalid(
            {"username": "用户名或身份证号码：该身份证号码尚未注册；请本人先注册个人账户，再向其发出邀请"}
        )
    if not password:
        raise FormInvalid({"password": "初始密码：该用户尚未注册，请填写姓名和初始密码以创建账户"})
    profile = create_staff_user(
        session, clock, username=username, real_name=real_name or "", password=password
    )
    _add_membership(session, profile.id, org.id, role)
    return MemberAdded(profile.id, profile.real_name, profile.username, False)


def list_pending_children(session: Session, *, actor_id: int, org_id: int) -> list[OrgInfo]:
    """Pending registrations under an org, for its admin. Raises NotPermitted."""
    org = _org(session, org_id)
    if not _is_admin(session, actor_id, org.id):
        raise NotPermitted(f"只有“{org.name}”的管理员可以查看待确认的绑定申请", org_id=org_id)
    rows = session.scalars(
        select(Org).where(Org.parent_id == org.id, Org.status == "pending").order_by(Org.created_at, Org.id)
    )
    return [org_info(o) for o in rows]


def list_members(session: Session, org_id: int) -> list[tuple[int, str, str, str]]:
    """(user id, username, real name, role) of an org's members."""
    rows = session.execute(
        select(User.id, User.username, User.real_name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id)
        .order_by(Membership.role, User.id)
    )
    return [tuple(r) for r in rows]


def active_orgs_of_types(session: Session, types: tuple[str, ...]) -> list[OrgInfo]:
    """Active orgs of the given types (e.g. the parents a registrant may pick)."""
    rows = session.scalars(
        select(Org)
        .where(Org.type.in_(types), Org.status == "active")
        .order_by(Org.type, Org.district, Org.name)
    )
    return [org_info(o) for o in rows]


def units_of_member(session: Session, user_id: int) -> list[OrgInfo]:
    """Active units a person works in as a member (admin, reviewer, desk): a declaration of theirs starts
    there and nowhere else."""
    rows = session.scalars(
        select(Org)
        .join(Membership, Membership.org_id == Org.id)
        .where(Membership.user_id == user_id, Org.type == "unit", Org.status == "active")
        .distinct()
        .order_by(Org.id)
    )
    return [org_info(o) for o in rows]


def orgs_registered_by(session: Session, user_id: int) -> list[OrgInfo]:
    """Orgs a person registered, whatever their status (shown on 我的单位)."""
    return [
        org_info(o)
        for o in session.scalars(select(Org).where(Org.registered_by_id == user_id).order_by(Org.id))
    ]


def _subtree_ids(session: Session, root_ids: set[int]) -> set[int]:
    seen, frontier = set(root_ids), set(root_ids)
    while frontier:
        frontier = set(session.scalars(select(Org.id).where(Org.parent_id.in_(frontier)))) - seen
        seen |= frontier
    return seen


def orgs_visible_to(session: Session, user_id: int) -> list[OrgInfo]:
    """Operators and city-wide auditors see every org; others their orgs' subtrees (scope for auditors)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户（编号 {user_id}）不存在", user_id=user_id)
    query = select(Org).order_by(Org.id)
    if not (user.is_operator or (user.is_auditor and user.auditor_scope_org_id is None)):
        roots = set(session.scalars(select(Membership.org_id).where(Membership.user_id == user_id)))
        if user.is_auditor:
            roots.add(user.auditor_scope_org_id)
        query = query.where(Org.id.in_(_subtree_ids(session, roots)))
    return [org_info(o) for o in session.scalars(query)]


def org_tree(session: Session) -> list[tuple[int, OrgInfo]]:
    """Every org in depth-first order with its depth (roots first), for `zhicheng org list`."""
    orgs = [org_info(o) for o in session.scalars(select(Org).order_by(Org.id))]
    children: dict[int | None, list[OrgInfo]] = {}
    for o in orgs:
        children.setdefault(o.parent_id, []).append(o)
    out: list[tuple[int, OrgInfo]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for o in children.get(parent_id, []):
            out.append((depth, o))
            walk(o.id, depth + 1)

    walk(None, 0)
    return out
