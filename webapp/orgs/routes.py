"""Views for 我的单位. Each parses a form, calls one engine function, commits and renders."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from engine.accounts import services as acc
from engine.accounts.tiers import PARENT_TYPES, TYPE_LABELS
from engine.errors import FormInvalid, OutsideWindow

from ..clock import get_clock
from ..errors import apply_form_errors
from ..extensions import db
from ..portal.routes import registration_state, require_registration_open
from ..uploads import save_upload, send_stored
from . import bp
from .forms import DecisionForm, HrAgencyForm, OrgRegisterForm, ReviewerForm

ROLE_LABELS = {"admin": "管理员", "reviewer": "审核人员", "desk": "现场确认人员"}


def _parent_choices():
    types = sorted({t for child in ("unit", "district_dept", "municipal_dept") for t in PARENT_TYPES[child]})
    orgs = acc.active_orgs_of_types(db.session, tuple(types))
    return [SelectChoice("", "请选择上级单位")] + [
        SelectChoice(str(o.id), f"{o.name}（{o.type_label}{'，' + o.district if o.district else ''}）")
        for o in orgs
    ]


@bp.route("/")
@login_required
def mine():
    """我的单位: orgs I belong to and registrations I made."""
    return render_template(
        "orgs/mine.html",
        memberships=current_user.memberships,
        registered=acc.orgs_registered_by(db.session, current_user.id),
        invitations=acc.pending_invitations(db.session, current_user.id),
        role_labels=ROLE_LABELS,
        type_labels=TYPE_LABELS,
    )


@bp.route("/invitations/<int:invitation_id>", methods=["POST"])
@login_required
def answer_invitation(invitation_id: int):
    """The invited person accepts or declines an org's invitation (nobody else can)."""
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        flash("请选择接受或谢绝", "error")
        return redirect(url_for("orgs.mine"))
    act = acc.accept_invitation if answer == "accept" else acc.decline_invitation
    info = act(db.session, get_clock(), user_id=current_user.id, invitation_id=invitation_id)
    db.session.commit()
    if answer == "accept":
        flash(f"您已成为“{info.org_name}”的{info.role_label}", "success")
    else:
        flash(f"已谢绝“{info.org_name}”的邀请", "info")
    return redirect(url_for("orgs.mine"))


@bp.route("/register", methods=["GET", "POST"])
@login_required
def register():
    """单位注册."""
    form = OrgRegisterForm()
    form.parent_id.choices = _parent_choices()
    if form.is_submitted():
        try:
            require_registration_open()  # 单位注册 shares the notice's 系统用户注册 window
            stored = save_upload(form.certificate.data, field="certificate", label="证照扫描件")
            org = acc.register_org(
                db.session,
                get_clock(),
                actor_id=current_user.id,
                org_type=form.org_type.data,
                name=form.name.data,
                credit_code=form.credit_code.data,
                parent_id=form.parent_id.data,
                district=form.district.data,
                contact_person=form.contact_person.data,
                contact_phone=form.contact_phone.data,
                certificate_sha256=stored.sha256,
            )
            db.session.commit()
        except OutsideWindow as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("orgs/register.html", form=form, registration=registration_state()), 409
        except FormInvalid as exc:
            db.session.rollback()
            apply_form_errors(form, exc)
            return render_template("orgs/register.html", form=form, registration=registration_state()), 422
        flash(f"“{org.name}”已提交注册，等待上级单位管理员确认绑定", "success")
        return redirect(url_for("orgs.mine"))
    return render_template("orgs/register.html", form=form, registration=registration_state())


@bp.route("/<int:org_id>/pending")
@login_required
def pending(org_id: int):
    """Bindings waiting for this org's admin."""
    org = acc.get_org(db.session, org_id)
    children = acc.list_pending_children(db.session, actor_id=current_user.id, org_id=org_id)
    return render_template("orgs/pending.html", org=org, children=children, form=DecisionForm())


@bp.route("/<int:org_id>/confirm", methods=["POST"])
@login_required
def confirm(org_id: int):
    org = acc.confirm_org(db.session, get_clock(), actor_id=current_user.id, org_id=org_id)
    db.session.commit()
    flash(f"已确认“{org.name}”的绑定，注册人成为其管理员", "success")
    return redirect(url_for("orgs.pending", org_id=org.parent_id))


@bp.route("/<int:org_id>/reject", methods=["POST"])
@login_required
def reject(org_id: int):
    form = DecisionForm()
    org = acc.reject_org(
        db.session, get_clock(), actor_id=current_user.id, org_id=org_id, reason=form.reason.data
    )
    db.session.commit()
    flash(f"已退回“{org.name}”的注册：{org.reject_reason}", "success")
    return redirect(url_for("orgs.pending", org_id=org.parent_id))


@bp.route("/<int:org_id>/certificate")
@login_required
def certificate(org_id: int):
    """The uploaded certificate, for the registrant, the org's admins and the parent's admins."""
    org = acc.get_org(db.session, org_id)
    allowed = (
        org.registered_by_id == current_user.id
        or current_user.is_admin_of(org.id)
        or (org.parent_id is not None and current_user.is_admin_of(org.parent_id))
        or current_user.is_operator
    )
    if not allowed or not org.certificate_sha256:
        abort(403 if not allowed else 404)
    return send_stored(org.certificate_sha256, fallback_name="证照扫描件")


@bp.route("/<int:org_id>/agencies", methods=["GET", "POST"])
@login_required
def agencies(org_id: int):
    """A district HR office admin creates HR agencies and their admin accounts."""
    office = acc.get_org(db.session, org_id)
    form = HrAgencyForm()
    status = 200
    if form.is_submitted():
        try:
            agency = acc.create_hr_agency(
                db.session,
                get_clock(),
                actor_id=current_user.id,
                office_id=org_id,
                name=form.name.data,
                credit_code=form.credit_code.data or None,
                contact_person=form.contact_person.data,
                contact_phone=form.contact_phone.data,
                admin_username=form.admin_username.data,
                admin_real_name=form.admin_real_name.data,
                admin_password=form.admin_password.data,
            )
            db.session.commit()
            flash(f"已创建“{agency.name}”，管理员用户名 {form.admin_username.data}", "success")
            return redirect(url_for("orgs.agencies", org_id=org_id))
        except FormInvalid as exc:
            db.session.rollback()
            apply_form_errors(form, exc)
            status = 422
    elif not current_user.is_admin_of(org_id):
        abort(403)
    existing = [
        o
        for o in acc.orgs_visible_to(db.session, current_user.id)
        if o.parent_id == org_id and o.type == "hr_agency"
    ]
    return render_template("orgs/agencies.html", office=office, form=form, agencies=existing), status


@bp.route("/<int:org_id>/members", methods=["GET", "POST"])
@login_required
def members(org_id: int):
    """An org admin adds reviewers or desk staff."""
    org = acc.get_org(db.session, org_id)
    form = ReviewerForm()
    status = 200
    if form.is_submitted():
        try:
            person = acc.add_reviewer(
                db.session,
                get_clock(),
                actor_id=current_user.id,
                org_id=org_id,
                role=form.role.data,
                username=form.username.data,
                real_name=form.real_name.data,
                password=form.password.data or None,
            )
            db.session.commit()
            role_label = ROLE_LABELS[form.role.data]
            if person.invited:
                flash(
                    f"已向 {person.real_name} 发出邀请，对方在「我的单位」中接受后成为{role_label}", "success"
                )
            else:
                flash(f"已创建账户 {person.username} 并添加为{role_label}", "success")
            return redirect(url_for("orgs.members", org_id=org_id))
        except FormInvalid as exc:
            db.session.rollback()
            apply_form_errors(form, exc)
            status = 422
    elif not current_user.is_admin_of(org_id):
        abort(403)
    return render_template(
        "orgs/members.html",
        org=org,
        form=form,
        role_labels=ROLE_LABELS,
        members=acc.list_members(db.session, org_id),
    ), status
