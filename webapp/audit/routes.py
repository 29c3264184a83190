"""Auditor pages: read-only. Parse, call one engine function, render."""

from __future__ import annotations

import json

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required

from engine.audit import queries
from engine.audit.bundle import export_bundle
from engine.audit.prints import check_print, parse_code
from engine.audit.status import coverage, log_status
from engine.audit.verify import verify_application
from engine.errors import FormInvalid, NotFound
from engine.store import services
from engine.store.queries import STATUS_LABELS, check_scope
from engine.store.tables import ApplicationRow

from ..extensions import db
from ..params import BadParameter, date_arg, int_arg
from . import bp, keys


def _auditor_only():
    if not (getattr(current_user, "is_auditor", False) or getattr(current_user, "is_operator", False)):
        abort(403)


@bp.route("/")
@login_required
def search():
    """Search applications in the auditor's scope by applicant, org, status, stage and date.

    A filter that cannot be understood is answered 400 naming it, never silently dropped (an auditor must
    not read an unfiltered list as a filtered one).
    """
    _auditor_only()
    status = request.args.get("status") or None
    if status is not None and status not in STATUS_LABELS:
        raise BadParameter("状态", "没有这种状态")
    stages = services.stage_labels(db.session)
    stage = request.args.get("stage") or None
    if stage is not None and stage not in stages:
        raise BadParameter("环节", "没有这个环节")
    date_from, date_to = date_arg("date_from", "起始日期"), date_arg("date_to", "截止日期")
    if date_from and date_to and date_from > date_to:
        raise BadParameter("起始日期", "不能晚于截止日期")
    rows = queries.search(
        db.session,
        current_user.id,
        applicant=request.args.get("applicant") or None,
        org_id=int_arg("org_id", "单位编号"),
        status=status,
        stage=stage,
        date_from=date_from,
        date_to=date_to,
    )
    return render_template(
        "audit/search.html",
        rows=rows,
        covered=coverage(db.session, [r.id for r in rows]),
        args=request.args,
        statuses=STATUS_LABELS,
        stages=stages,
    )


@bp.route("/applications/<int:app_id>")
@login_required
def timeline(app_id: int):
    """Every event of one application, with data diffs, and the diagram at its current position."""
    _auditor_only()
    row, entries = queries.timeline(db.session, app_id, current_user.id)
    last = queries.replay_step(db.session, app_id, current_user.id, len(entries))
    return render_template(
        "audit/timeline.html",
        row=row,
        entries=entries,
        step=last,
        status_label=STATUS_LABELS.get(row.status, row.status),
    )


@bp.route("/applications/<int:app_id>/replay")
@login_required
def replay(app_id: int):
    """Step through the history event by event: the diagram and the data at each step."""
    _auditor_only()
    step = queries.replay_step(db.session, app_id, current_user.id, int_arg("step", "步骤", 1, lo=0))
    return render_template("audit/replay.html", app_id=app_id, step=step)


def _in_scope(app_id: int) -> None:
    """404 unless the application exists and lies in the auditor's scope."""
    row = db.session.get(ApplicationRow, app_id)
    if row is None:
        abort(404)
    check_scope(db.session, row, current_user.id)


@bp.route("/applications/<int:app_id>/verify")
@login_required
def verify(app_id: int):
    """Check the hash chain and replay against the stored state and indexes."""
    _auditor_only()
    _in_scope(app_id)
    result = verify_application(db.session, app_id, keys.public_key())
    return render_template("audit/verify.html", app_id=app_id, result=result)


@bp.route("/applications/<int:app_id>/export")
@login_required
def export(app_id: int):
    """Download the offline audit bundle (verify with `zhicheng audit verify-bundle`)."""
    _auditor_only()
    _in_scope(app_id)
    body = json.dumps(export_bundle(db.session, app_id), ensure_ascii=False, indent=1)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=audit-{app_id}.json"},
    )


@bp.route("/checkpoints")
@login_required
def checkpoints():
    """The signed checkpoint log: the latest checkpoint, its size, how much it covers, the public key."""
    _auditor_only()
    status = log_status(db.session, keys.public_key())
    return render_template("audit/checkpoints.html", status=status, has_key=keys.public_key_pem() is not None)


@bp.route("/public-key.pem")
@login_required
def public_key():
    """Download the auditors' public key (PEM) that checks checkpoint signatures offline."""
    _auditor_only()
    pem = keys.public_key_pem()
    if pem is None:
        raise NotFound("尚未配置审计公钥（ZHICHENG_AUDIT_PUBLIC_KEY），请联系系统管理员")
    return Response(
        pem,
        mimetype="application/x-pem-file",
        headers={"Content-Disposition": "attachment; filename=zhicheng-audit-public-key.pem"},
    )


@bp.route("/prints")
@login_required
def print_check():
    """Check a printed form's verification code (typed in, or reached through its QR code)."""
    _auditor_only()
    code = request.args.get("code", "").strip()
    check, error = None, None
    if code:
        try:
            app_id, _ = parse_code(code)
            row = db.session.get(ApplicationRow, app_id)
            if row is None:
                raise NotFound(f"申请书（编号 {app_id}）不存在")
            check_scope(db.session, row, current_user.id)
            check = check_print(db.session, code, row)
        except FormInvalid as exc:
            error = exc.errors["code"]
        except NotFound as exc:
            error = f"核验码无效：{exc}"
    return render_template("audit/print_check.html", code=code, check=check, error=error)
