"""Views for 申请书审核: inboxes per org, task pages, batch approval, CSV export. Parse, call one service, render."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import labels, timefmt
from engine.accounts import services as acc
from engine.errors import ActionRefused, FormInvalid, NotFound
from engine.store import claims, desk, gate, queries, services

from .. import nav
from ..apply.printing import print_context
from ..clock import get_clock
from ..csv_export import csv_response
from ..extensions import db
from ..files import file_links
from ..forms_render import attachment_refs, complete_from_form, fields_for, flatten, parse_request
from ..params import DB_INT_MAX, int_arg
from ..uploads import send_attachment
from . import bp
from .forms import BatchApproveForm

MAX_PAGE = 100_000  # 50 per page: far beyond any inbox, and the offset stays inside the database's integers
VIEW_LABELS = {
    "all": "全部待办",
    "actionable": "可办理",
    "not_open": "尚未开放",
    "due_soon": "即将截止",
    "lapsed": "已逾期失效",
}


@bp.context_processor
def _labels():
    return {
        "stage_labels": services.stage_labels(db.session),
        "campaign_titles": services.campaign_titles(db.session),
        "view_labels": VIEW_LABELS,
    }


def _membership(org_id: int):
    """The user's active membership in `org_id`; 404 for an org that is not theirs (never leak it)."""
    mine = [m for m in current_user.memberships if m.org_id == org_id and m.org_status == "active"]
    if not mine:
        abort(404)
    return mine[0], {m.role for m in mine}


def _require_role(roles: set[str], view, stage: str) -> None:
    """403 unless one of the user's roles may act at `stage` (the BPMN task's `roles`)."""
    if not roles & services.deployment_for(db.session, view.deployment_id).model.roles(stage):
        abort(403)


def _app_in_org(org_id: int, app_id: int) -> queries.ApplicationView:
    """The application if the user may see it and `org_id` is on its chain; NotFound otherwise."""
    view = queries.application_view(db.session, app_id, current_user.id)
    if org_id not in {v for v in view.chain.values() if v}:
        abort(404)
    return view


@bp.route("/")
@login_required
def index():
    """The orgs the user reviews for, each with its counts."""
    orgs = []
    for m in current_user.memberships:
        if m.org_status == "active" and m.org_id not in {o[0].org_id for o in orgs}:
            orgs.append((m, desk.counts(db.session, get_clock(), m.org_id, tally=nav.tally(m.org_id))))
    return render_template("review/index.html", orgs=orgs)


def _inbox_args():
    view = request.args.get("view", "actionable")
    if view not in VIEW_LABELS:
        view = "actionable"
    days = int_arg("days", "天数", 3, lo=0, hi=30)
    page = int_arg("page", "页码", 1, hi=MAX_PAGE)
    return view, days, page


# The query keys a desk link carries on (pager, sort, export): only what the desk reads, so that a stray
# `org_id`, `endpoint` or `_external` in the query string cannot collide with url_for's own arguments.
LINK_KEYS = ("view", "days", "name", "id_number", "unit", "series", "campaign", "stage", "sort", "desc")


def _link_args() -> dict[str, str]:
    return {k: request.args[k] for k in LINK_KEYS if k in request.args}


def _search_args() -> tuple[desk.Search, str, bool]:
    """The desk's search, sort column and direction from the query string (unknown sorts fall back)."""
    a = request.args
    search = desk.Search(
        name=a.get("name", "")[:50],
        id_number=a.get("id_number", "")[:18],
        unit=a.get("unit", "")[:100],
        series=a.get("series", "")[:100],
        campaign=a.get("campaign", "")[:100],
        stage=a.get("stage", "")[:50],
    )
    return search, a.get("sort", ""), a.get("desc") == "1"


def _desk_page(org_id: int, view: str, days: int, page: int, per_page: int = desk.PER_PAGE, tally=None):
    search, sort, descending = _search_args()
    return desk.work(
        db.session,
        get_clock(),
        org_id,
        view=view,
        search=search,
        sort=sort or "deadline",
        descending=descending,
        page=page,
        per_page=per_page,
        due_within_working_days=days,
        tally=tally,
    ), search


def _choices():
    """Series and campaigns offered in the search form, from the current deployments' campaign files."""
    series, campaigns = {}, {}
    for d in services.current_deployments(db.session):
        campaigns[d.campaign.id] = d.campaign.title
        for s in d.campaign.series:
            series[s.code] = s.name
    return series, campaigns


@bp.route("/<int:org_id>/")
@login_required
def inbox(org_id: int):
    """One org's desk: search, sortable columns, numbered pages with totals, claims, batch approval."""
    membership, roles = _membership(org_id)
    view, days, page = _inbox_args()
    # the org's grouped work, read once for this page's tab counts and the menu's badges (webapp/nav.py)
    result, search = _desk_page(org_id, view, days, page, tally=nav.tally(org_id))
    notices = queries.in_notice(db.session, get_clock(), org_id) if membership.org_type == "unit" else []
    series, campaigns = _choices()
    return render_template(
        "review/inbox.html",
        org=membership,
        roles=roles,
        result=result,
        search=search,
        series_choices=series,
        campaign_choices=campaigns,
        counts=result.counts,
        view=view,
        days=days,
        page=page,
        args=_link_args(),
        batch_form=BatchApproveForm(),
        batch_stages=services.batch_stages(db.session),
        now=get_clock().now(),
        notices=notices,
        is_admin="admin" in roles,
        user_id=current_user.id,
    )


@bp.route("/<int:org_id>/export.csv")
@login_required
def export(org_id: int):
    """The desk's current view (search and sort included, every page) as CSV."""
    membership, _ = _membership(org_id)
    view, days, _ = _inbox_args()
    result, _ = _desk_page(org_id, view, days, 1, per_page=desk.MAX_PER_PAGE)
    series, _ = _choices()
    rows = (
        [
            r.item.application_id,
            r.item.applicant_name,
            r.unit_name,
            series.get(r.item.series or "", r.item.series or ""),
            r.item.title_sought or "",
            r.item.stage_label,
            queries.STATUS_LABELS.get(r.item.status, ""),
            timefmt.opens(r.item.actionable_from),
            timefmt.deadline(r.item.deadline),
            r.claim.user_name if r.claim else "",
        ]
        for r in result.rows
    )
    header = [
        "申请书编号",
        "申报人",
        "单位",
        "申报系列",
        "申报职称",
        "环节",
        "状态",
        "开放时间",
        "截止时间",
        "认领人",
    ]
    return csv_response(
        header, rows, filename=f"{membership.org_name}-{VIEW_LABELS[view]}.csv", ascii_name="inbox.csv"
    )


@bp.route("/<int:org_id>/handled")
@login_required
def handled(org_id: int):
    """已办: what this org handled, with the outcome and where each application stands now; CSV on request."""
    membership, _ = _membership(org_id)
    search, sort, descending = _search_args()
    page = int_arg("page", "页码", 1, hi=MAX_PAGE)
    csv_wanted = request.args.get("format") == "csv"
    result = desk.handled(
        db.session,
        org_id,
        search=search,
        sort=sort or "at",
        descending=descending if request.args.get("sort") else True,
        page=1 if csv_wanted else page,
        per_page=desk.MAX_PER_PAGE if csv_wanted else desk.PER_PAGE,
    )
    series, campaigns = _choices()
    if csv_wanted:
        rows = (
            [
                r.application_id,
                r.applicant_name,
                r.unit_name,
                series.get(r.series or "", r.series or ""),
                r.stage_label,
                r.outcome,
                r.actor_name,
                timefmt.instant(r.at),
                r.status_label,
            ]
            for r in result.rows
        )
        header = [
            "申请书编号",
            "申报人",
            "单位",
            "申报系列",
            "环节",
            "办理结果",
            "办理人",
            "办理时间",
            "当前状态",
        ]
        return csv_response(
            header, rows, filename=f"{membership.org_name}-已办.csv", ascii_name="handled.csv"
        )
    return render_template(
        "review/handled.html",
        org=membership,
        result=result,
        search=search,
        series_choices=series,
        campaign_choices=campaigns,
        args=_link_args(),
    )


def _item_arg(value: str | None) -> tuple[int, str]:
    try:
        app_id, stage = (value or "").split(":")[:2]
        app_id = int(app_id)
    except ValueError:
        abort(400)
    if not 0 < app_id <= DB_INT_MAX:
        abort(400)
    return app_id, stage


def _back(org_id: int):
    target = request.form.get("next") or ""
    if not target.startswith(f"/review/{org_id}/"):  # only back to this org's own pages
        target = url_for("review.inbox", org_id=org_id)
    return redirect(target)


def _claim_step(org_id: int, field: str, act, done: str):
    """Claim or release one task, flashing the engine's refusal or `done` (with the application id)."""
    _membership(org_id)
    app_id, stage = _item_arg(request.form.get(field))
    try:
        act(app_id, stage)
    except (ActionRefused, NotFound) as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done.format(app_id=app_id), "success")
    return _back(org_id)


@bp.route("/<int:org_id>/claim", methods=["POST"])
@login_required
def claim(org_id: int):
    """Claim a task for oneself; colleagues see who holds it and cannot act on it meanwhile."""
    return _claim_step(
        org_id,
        "claim",
        lambda app_id, stage: claims.claim(db.session, get_clock(), org_id, app_id, stage, current_user.id),
        "已认领申请书 {app_id}",
    )


@bp.route("/<int:org_id>/release", methods=["POST"])
@login_required
def release(org_id: int):
    """Release one's own claim (an org admin may release anyone's)."""
    return _claim_step(
        org_id,
        "release",
        lambda app_id, stage: claims.release(db.session, org_id, app_id, stage, current_user.id),
        "已释放申请书 {app_id} 的认领",
    )


@bp.route("/<int:org_id>/batch", methods=["POST"])
@login_required
def batch(org_id: int):
    """Approve the selected applications with one opinion; each is its own unit of work."""
    _membership(org_id)
    form = BatchApproveForm()
    actor = queries.actor_for(db.session, current_user.id)
    results = []
    for item in form.items.data or []:
        try:
            app_id, stage, version = item.split(":")
            app_id, version = int(app_id), int(version)
        except ValueError:
            continue
        if not 0 < app_id <= DB_INT_MAX:  # cannot name an application; the database would refuse the number
            continue
        if stage not in services.batch_stages(db.session):
            results.append((app_id, stage, False, "该环节不能批量办理"))
            continue
        try:
            services.complete_task(
                db.session,
                get_clock(),
                app_id,
                stage,
                actor,
                {"decision": "approve", "opinion": form.opinion.data or ""},
                expected_version=version,
            )
        except FormInvalid as exc:
            db.session.rollback()
            results.append((app_id, stage, False, "；".join(exc.errors.values())))
        except (ActionRefused, NotFound) as exc:
            db.session.rollback()
            results.append((app_id, stage, False, f"{getattr(exc, 'title', '不能办理')}：{exc.message}"))
        else:
            results.append((app_id, stage, True, "已审核通过"))
    if not results:
        flash("请先勾选要批量审核通过的申请书", "error")
        return redirect(url_for("review.inbox", org_id=org_id))
    ok = sum(1 for r in results if r[2])
    return render_template("review/batch_result.html", org_id=org_id, results=results, ok=ok)


def _task_fields(view, stage):
    deployment = services.deployment_for(db.session, view.deployment_id)
    first = deployment.model.submission
    decl_fields = fields_for(deployment.form_schema(first), deployment.ui_schema(first))
    if stage is None:
        return deployment, decl_fields, None
    return deployment, decl_fields, fields_for(deployment.form_schema(stage), deployment.ui_schema(stage))


@bp.route("/<int:org_id>/app/<int:app_id>")
@login_required
def application(org_id: int, app_id: int):
    """An application as this org sees it: data, attachments, opinions; the notice countdown for the unit."""
    _membership(org_id)
    view = _app_in_org(org_id, app_id)
    deployment, decl_fields, _ = _task_fields(view, None)
    tasks = [r for r in view.ready if r["org_id"] == org_id]
    return render_template(
        "review/application.html",
        view=view,
        org_id=org_id,
        tasks=tasks,
        decl_fields=decl_fields,
        decl_values=flatten(decl_fields, view.declaration),
        campaign=deployment.campaign,
        file_url=_file_url(org_id, view),
        is_unit=view.chain.get("unit") == org_id,
    )


def _file_url(org_id, view):
    """Links to an application's files, named as its applicant uploaded them."""
    return file_links(
        lambda sha: url_for("review.attachment", org_id=org_id, app_id=view.id, sha256=sha),
        view.applicant_id,
        view.declaration,
    )


@bp.route("/<int:org_id>/app/<int:app_id>/task/<stage>", methods=["GET", "POST"])
@login_required
def task(org_id: int, app_id: int, stage: str):
    """A review task: the application, earlier opinions, window and deadline; approve or return.

    When the engine would refuse the action, the page says why and until when instead of offering the form;
    a refused submission is shown again with what was typed.
    """
    _, roles = _membership(org_id)
    view = _app_in_org(org_id, app_id)
    _require_role(roles, view, stage)
    deployment = services.deployment_for(db.session, view.deployment_id)
    if stage not in deployment.spec.task_specs:
        abort(404)
    deployment, decl_fields, fields = _task_fields(view, stage)
    refusal = gate.explain(
        db.session, get_clock().now(), app_id, stage, {org_id}, current_user.id, deployment
    )
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        parsed = parse_request(fields, request.form, request.files)
        values = parsed.values
        try:
            errors = complete_from_form(app_id, stage, deployment.form_schema(stage), parsed)
        except (ActionRefused, NotFound) as exc:
            db.session.rollback()
            refusal, status = exc, 409
        else:
            if errors:
                status = 422
            else:
                decision = parsed.data.get("decision")
                flash(
                    f"「{deployment.model.label(stage)}」已办理："
                    f"{labels.decision_label(deployment, stage, decision)}",
                    "success",
                )
                return redirect(url_for("review.application", org_id=org_id, app_id=app_id))
    ready = next((r for r in view.ready if r["stage"] == stage and r["org_id"] == org_id), None)
    return render_template(
        "review/task.html",
        view=view,
        org_id=org_id,
        stage=stage,
        ready=ready,
        refusal=refusal,
        claim=claims.holder(db.session, app_id, stage),
        fields=fields,
        values=values,
        errors=errors,
        decl_fields=decl_fields,
        decl_values=flatten(decl_fields, view.declaration),
        now=get_clock().now(),
        file_url=_file_url(org_id, view),
    ), status


@bp.route("/<int:org_id>/app/<int:app_id>/files/<sha256>")
@login_required
def attachment(org_id: int, app_id: int, sha256: str):
    """An attachment of an application this org may see."""
    _membership(org_id)
    view = _app_in_org(org_id, app_id)
    _, decl_fields, _ = _task_fields(view, None)
    return send_attachment(sha256, {sha for _, sha in attachment_refs(decl_fields, view.declaration)})


@bp.route("/<int:org_id>/app/<int:app_id>/print/notice_form")
@login_required
def print_notice(org_id: int, app_id: int):
    """The unit prints the 公示表 once it has approved the application."""
    _membership(org_id)
    view = _app_in_org(org_id, app_id)
    if view.chain.get("unit") != org_id:
        abort(403)
    model = services.deployment_for(db.session, view.deployment_id).model
    noticed = {w.after_stage for w in model.waits.values()}  # the stage whose approval starts the notice
    if not any(r["stage"] in noticed and r["decision"] == "approve" for r in view.reviews):
        flash("单位审核通过后才能打印公示表", "error")
        return redirect(url_for("review.application", org_id=org_id, app_id=app_id))
    return render_template("print/notice_form.html", **print_context(view, "notice_form"))


@bp.app_template_global()
def org_name(org_id: int | None) -> str:
    """An org's name for review templates."""
    return acc.get_org(db.session, org_id).name if org_id else ""
