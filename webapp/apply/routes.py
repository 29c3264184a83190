"""Views for 我的申请书. Each parses the request, calls one engine service, renders."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from engine.errors import ActionRefused, AlreadyHandled, FormInvalid
from engine.stages import APPLICANT_TIER
from engine.store import queries, services, starting

from ..clock import get_clock
from ..extensions import db
from ..files import file_links
from ..forms_render import attachment_refs, complete_from_form, fields_for, flatten, parse_request
from ..uploads import send_attachment
from . import bp
from .forms import StartForm
from .printing import PRINTS, print_context


@bp.context_processor
def _labels():
    return {"stage_labels": services.stage_labels(db.session)}


def _own_view(app_id: int) -> queries.ApplicationView:
    """The application if it is the current user's own; NotFound otherwise (never leak others')."""
    view = queries.application_view(db.session, app_id, current_user.id)
    if view.applicant_id != current_user.id:
        abort(404)
    return view


def _applicant_task(view) -> dict | None:
    return next((r for r in view.ready if r["tier"] == APPLICANT_TIER), None)


def _declaration_fields(deployment):
    """The declaration's fields: the form of the process's first (submission) stage."""
    first = deployment.model.submission
    return fields_for(deployment.form_schema(first), deployment.ui_schema(first))


def _draft_data(app_id: int) -> dict | None:
    draft = services.load_draft(db.session, app_id, current_user.id)
    return draft.data if draft else None


def _start_form() -> tuple[StartForm, object]:
    """The start form with the units this person may name (engine.store.starting.unit_choice)."""
    form = StartForm()
    units = starting.unit_choice(db.session, current_user.id)
    form.unit_id.choices = ([] if units.fixed else [SelectChoice("", "请选择所在单位")]) + [
        SelectChoice(str(o.id), o.name) for o in units.units
    ]
    if not form.is_submitted() and units.chosen:
        form.unit_id.data = str(units.chosen)
    return form, units


@bp.route("/")
@login_required
def index():
    """我的申请书: my applications and, where the engine allows, starting a new one (else why not)."""
    apps = queries.applications_for_applicant(db.session, current_user.id)
    form, units = _start_form()
    options = starting.start_options(db.session, get_clock(), current_user.id)
    form.campaign_id.choices = [
        SelectChoice(o.deployment.campaign.id, o.deployment.campaign.title) for o in options if o.may_start
    ]
    return render_template(
        "apply/index.html",
        apps=apps,
        form=form,
        units=units,
        options=options,
        campaign_titles=services.campaign_titles(db.session),
        status_labels=queries.STATUS_LABELS,
    )


@bp.route("/start", methods=["POST"])
@login_required
def start():
    """Start a declaration for the chosen unit (the service refuses outside 申报人填报, duplicates and a
    unit other than the one a unit's own staff belong to)."""
    form, _units = _start_form()
    if not form.validate_on_submit():
        flash("请选择所在单位", "error")
        return redirect(url_for("apply.index"))
    try:
        app_id = services.start_application(
            db.session, get_clock(), current_user.id, int(form.unit_id.data), form.campaign_id.data or None
        )
    except FormInvalid as exc:
        flash("；".join(exc.errors.values()) or exc.message, "error")
        return redirect(url_for("apply.index"))
    flash("申请书已创建，请填写申报信息并上传佐证材料", "success")
    return redirect(url_for("apply.declaration", app_id=app_id))


def _declaration_form(view):
    deployment = services.deployment_for(db.session, view.deployment_id)
    task = _applicant_task(view)
    stage = task["stage"] if task else deployment.model.submission
    return task, stage, fields_for(deployment.form_schema(stage), deployment.ui_schema(stage)), deployment


@bp.route("/<int:app_id>/declaration", methods=["GET", "POST"])
@login_required
def declaration(app_id: int):
    """Fill (or correct) the declaration: save a draft, or confirm the pledge and submit."""
    view = _own_view(app_id)
    task, stage, fields, deployment = _declaration_form(view)
    if task is None:
        if request.method == "POST":
            return _already_handled(app_id)
        flash("申请书当前不需要您填写", "info")
        return redirect(url_for("apply.progress", app_id=app_id))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        parsed = parse_request(fields, request.form, request.files, application_id=app_id)
        values, errors = parsed.values, dict(parsed.errors)
        if request.form.get("action") == "draft":
            try:
                services.save_draft(db.session, get_clock(), app_id, current_user.id, parsed.data)
            except FormInvalid as exc:
                flash(exc.message, "error")
                return render_template(
                    "apply/declaration.html",
                    view=view,
                    task=task,
                    stage=stage,
                    fields=fields,
                    values=values,
                    errors={**exc.errors, **errors},
                    file_url=_file_url(app_id, values),
                ), 422
            except ActionRefused:
                return _already_handled(app_id)
            flash(
                "草稿已保存（尚未提交）" + ("；部分附件未通过检查，请重新上传" if errors else ""), "success"
            )
            if not errors:
                return redirect(url_for("apply.declaration", app_id=app_id))
            status = 422
        else:
            try:
                errors = complete_from_form(app_id, stage, deployment.form_schema(stage), parsed)
            except AlreadyHandled:
                return _already_handled(app_id)
            if errors:
                status = 422
            else:  # the service dropped the draft in the same unit of work
                flash(
                    "申请书已提交，请留意审核进度"
                    if stage == deployment.model.submission
                    else "补正材料已重新提交",
                    "success",
                )
                return redirect(url_for("apply.progress", app_id=app_id))
    else:
        values = flatten(fields, _draft_data(app_id) or view.declaration)
    return render_template(
        "apply/declaration.html",
        view=view,
        task=task,
        stage=stage,
        fields=fields,
        values=values,
        errors=errors,
        file_url=_file_url(app_id, values),
    ), status


def _file_url(app_id: int, *data):
    """Links to the applicant's files, named as they uploaded them."""
    return file_links(
        lambda sha: url_for("apply.attachment", app_id=app_id, sha256=sha), current_user.id, *data
    )


def _already_handled(app_id: int):
    db.session.rollback()
    return render_template(
        "errors/error.html",
        code=409,
        title="操作未执行",
        message="该事项已被处理（可能是重复提交，或已由他人办理），本次提交未生效。",
        back=url_for("apply.progress", app_id=app_id),
    ), 409


@bp.route("/<int:app_id>")
@login_required
def progress(app_id: int):
    """Progress: status, stage, the org it waits on with its contact, deadline, opinions, timeline."""
    view = _own_view(app_id)
    deployment = services.deployment_for(db.session, view.deployment_id)
    fields = _declaration_fields(deployment)
    return render_template(
        "apply/progress.html",
        view=view,
        task=_applicant_task(view),
        fields=fields,
        values=flatten(fields, view.declaration),
        campaign=deployment.campaign,
        file_url=_file_url(app_id, view.declaration),
        can_print=view.status in ("accepted", "confirmed"),
        prints=PRINTS,
    )


@bp.route("/<int:app_id>/files/<sha256>")
@login_required
def attachment(app_id: int, sha256: str):
    """An attachment of my own application (its declaration or draft must reference it)."""
    view = _own_view(app_id)
    deployment = services.deployment_for(db.session, view.deployment_id)
    fields = _declaration_fields(deployment)
    refs = {sha for _, sha in attachment_refs(fields, view.declaration)}
    refs |= {sha for _, sha in attachment_refs(fields, _draft_data(app_id))}
    return send_attachment(sha256, refs)


@bp.route("/<int:app_id>/print/<kind>")
@login_required
def print_form(app_id: int, kind: str):
    """评审表 / 公示表 print views, once the committee has accepted the application."""
    view = _own_view(app_id)
    if kind not in PRINTS:
        abort(404)
    if view.status not in ("accepted", "confirmed"):
        flash("评委会审核受理后才能打印评审表和公示表", "error")
        return redirect(url_for("apply.progress", app_id=app_id))
    return render_template(f"print/{kind}.html", **print_context(view, kind))
