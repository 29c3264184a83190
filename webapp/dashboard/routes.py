"""Dashboard views: parse the filters, ask engine.dashboard, render tables, SVG charts and exports."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import dashboard, timefmt
from engine.errors import FormInvalid

from ..clock import get_clock
from ..extensions import db
from . import bp, charts
from .export import to_csv, to_xlsx

TABLES = {"counts": "各环节申请书数量", "at_risk": "临近截止待办", "lapses": "逾期失效报告"}


def _days() -> int:
    text = request.args.get("days", "3").strip() or "3"
    if not text.isdigit():
        raise FormInvalid({"days": "天数：请填写 0 到 30 之间的工作日数"})
    return int(text)


def _page(org_id: int, **kw) -> dashboard.Page:
    return dashboard.page(
        db.session,
        current_user.id,
        org_id,
        get_clock().now(),
        campaign_id=request.args.get("campaign") or None,
        series=request.args.get("series") or None,
        days=_days(),
        **kw,
    )


def _args(p: dashboard.Page, **extra) -> dict:
    out = {"campaign": p.filters.campaign_id, "series": p.filters.series, **extra}
    return {k: v for k, v in out.items() if v not in (None, "")}


@bp.route("/")
@login_required
def index():
    scopes = dashboard.scopes_of(db.session, current_user.id)
    if len(scopes) == 1:
        return redirect(url_for("dashboard.show", org_id=scopes[0].org_id))
    if not scopes:
        abort(403)
    return render_template("dashboard/choose.html", scopes=scopes)


@bp.route("/<int:org_id>/")
@login_required
def show(org_id: int):
    p = _page(org_id)
    rows = [(name, cells) for _, name, cells, _ in p.counts.rows]
    chart_stages = charts.stacked_bars("各单位申请书所处环节", rows, p.counts.columns)
    submit_label = p.windows[0][0] if p.windows else "提交"
    chart_days = charts.day_lines(
        "每日提交与受理",
        [
            ("提交申报", {d.day: d.submissions for d in p.per_day}),
            ("评委会受理", {d.day: d.acceptances for d in p.per_day}),
        ],
        p.windows,
    )
    per_org: dict[str, int] = {}
    for row in p.lapses:
        per_org[row.org_name] = per_org.get(row.org_name, 0) + row.count
    chart_lapses = charts.bars("逾期失效（按责任单位）", sorted(per_org.items(), key=lambda kv: -kv[1]))
    return render_template(
        "dashboard/show.html",
        p=p,
        args=_args(p),
        days_args=_args(p, days=p.at_risk_days),
        chart_stages=chart_stages,
        chart_days=chart_days,
        chart_lapses=chart_lapses,
        submit_label=submit_label,
        at_risk_rows=_table(p, "at_risk")[1],  # formatted once here: the template only prints
    )


@bp.route("/<int:org_id>/applications")
@login_required
def applications(org_id: int):
    p_scope = dashboard.scope_for(db.session, current_user.id, org_id)
    filters = dashboard.Filters(request.args.get("campaign") or None, request.args.get("series") or None)
    column = request.args.get("column") or None
    org_text = request.args.get("org", "")
    if org_text and not org_text.isdigit():
        raise FormInvalid({"org": "单位：编号应为数字"})
    below = int(org_text) if org_text else None
    items = dashboard.applications(db.session, p_scope, filters, column=column, org_id=below)
    return render_template(
        "dashboard/applications.html",
        scope=p_scope,
        items=items,
        column_label=dashboard.column_label(column, dashboard.stage_labels(db.session, filters.campaign_id))
        if column
        else "全部",
        args={k: v for k, v in request.args.items() if k in ("campaign", "series")},
        deadline_text=timefmt.deadline,
    )


def _series_namer(p: dashboard.Page):
    names = {s.code: s.name for s in p.campaign.series} if p.campaign else {}
    return lambda code: names.get(code or "", code or "")


def _table(p: dashboard.Page, name: str) -> tuple[list[str], list[list]]:
    fmt = _series_namer(p)
    if name == "counts":
        headers = ["单位", *[label for _, label in p.counts.columns], "合计"]
        rows = [[n, *[c.get(k, 0) for k, _ in p.counts.columns], t] for _, n, c, t in p.counts.rows]
        rows.append(["合计", *[p.counts.totals.get(k, 0) for k, _ in p.counts.columns], p.counts.total])
        return headers, rows
    if name == "at_risk":
        headers = ["编号", "申报人", "系列", "环节", "截止", "办理单位", "联系人", "联系电话"]
        return headers, [
            [
                r.application_id,
                r.applicant_name,
                fmt(r.series),
                r.stage_label,
                timefmt.deadline(r.deadline),
                r.holder,
                r.contact_person,
                r.contact_phone,
            ]
            for r in p.at_risk
        ]
    headers = ["责任单位", "联系人", "联系电话", "失效环节", "份数"]
    return headers, [
        [r.org_name, r.contact_person, r.contact_phone, r.stage_label, r.count] for r in p.lapses
    ]


@bp.route("/<int:org_id>/export/<name>.<fmt>")
@login_required
def export(org_id: int, name: str, fmt: str):
    if name not in TABLES or fmt not in ("csv", "xlsx"):
        abort(404)
    p = _page(org_id, parts=(name,), at_risk_limit=5000)
    headers, rows = _table(p, name)
    filename = f"{name}-{org_id}.{fmt}"
    if fmt == "csv":
        body, mime = to_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        body = to_xlsx(TABLES[name], headers, rows)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
