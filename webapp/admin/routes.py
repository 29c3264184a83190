"""Operator views: the checked deploy page and the sandbox clock. Parse, call the engine, render."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import sessionmaker

from engine import timefmt
from engine.bpmn_check import check_bpmn
from engine.campaign_lint import lint_campaign
from engine.deployment import DEFAULT_CAMPAIGN, build_deployment, read_sources
from engine.errors import ActionRefused, ConfigError
from engine.paths import bpmn_dir
from engine.reminders.senders import senders_from_env
from engine.reminders.service import remind
from engine.store import queries, services
from engine.store.worker import tick

from ..clock import get_clock
from ..extensions import db
from . import bp
from .forms import ClockForm, DeployForm


def _require_operator() -> None:
    if not current_user.is_operator:
        abort(403)


@bp.route("/deploy", methods=["GET", "POST"])
@login_required
def deploy():
    """Check a BPMN folder (or uploaded files) with bpmn check and campaign lint; deploy only if clean."""
    _require_operator()
    form = DeployForm()
    problems: list[str] = []
    warnings: list[str] = []
    status = 200
    if form.validate_on_submit():
        with tempfile.TemporaryDirectory(prefix="zhicheng-deploy-") as tmp:
            uploads = [f for f in (request.files.getlist("files") or []) if f and f.filename]
            if uploads:
                root, campaign = Path(tmp), _lay_out(Path(tmp), uploads, problems)
            else:
                folder = (form.folder.data or "").strip()
                root = Path(folder) if folder else bpmn_dir()
                campaign = (form.campaign.data or "").strip() or DEFAULT_CAMPAIGN
                if not root.is_dir():
                    problems.append(f"{root}: 文件夹不存在")
            if not problems:
                problems += [str(p) for p in check_bpmn(root, campaign)]
                try:
                    sources = read_sources(root, campaign)
                    deployment = build_deployment(sources)
                    for finding in lint_campaign(deployment.campaign, model=deployment.model):
                        (problems if finding.level == "error" else warnings).append(str(finding))
                except (ConfigError, OSError) as exc:
                    problems.append(str(exc))
            if not problems:
                try:
                    info = services.deploy(
                        db.session,
                        get_clock(),
                        sources,
                        actor_id=current_user.id,
                        replace=bool(form.replace.data),
                    )
                except ConfigError as exc:
                    problems.append(str(exc))
                else:
                    flash(
                        f"已部署 {info.id[:12]}（批次 {info.campaign_id}）"
                        + ("" if info.created else "：与已存储的部署相同，已设为当前部署"),
                        "success",
                    )
                    return redirect(url_for("admin.deploy"))
        status = 422
        flash(f"检查发现 {len(problems)} 个错误，未部署", "error")
    elif request.method == "POST":
        status = 400
    return render_template(
        "admin/deploy.html",
        form=form,
        problems=problems,
        warnings=warnings,
        deployments=queries.deployments(db.session),
        apps=queries.pinned_applications(db.session),
        default_folder=str(bpmn_dir()),
    ), status


def _lay_out(root: Path, uploads, problems: list[str]) -> str | None:
    """Place uploaded files as a bpmn folder: *.bpmn at the root, forms/*.json, campaigns/*.toml."""
    (root / "forms").mkdir()
    (root / "campaigns").mkdir()
    campaigns = []
    for upload in uploads:
        name = Path(upload.filename).name
        if name.endswith(".bpmn"):
            target = root / name
        elif name.endswith(".json"):
            target = root / "forms" / name
        elif name.endswith(".toml"):
            target = root / "campaigns" / name
            campaigns.append(name)
        else:
            problems.append(f"{name}: 只能上传 .bpmn、.json（表单）和 .toml（活动）文件")
            continue
        upload.save(target)
    if len(campaigns) != 1:
        problems.append(f"需要且只能上传一个活动文件（.toml），收到 {len(campaigns)} 个")
        return None
    return f"campaigns/{campaigns[0]}"


def _sandbox_only() -> None:
    if not current_app.config.get("ZHICHENG_SANDBOX"):
        abort(404)


@bp.route("/clock", methods=["GET", "POST"])
@login_required
def clock():
    """The sandbox engine clock: move it forward (never back), then fire the timers now due."""
    _sandbox_only()
    _require_operator()
    form = ClockForm()
    engine_clock = get_clock()
    status = 200
    if form.validate_on_submit():
        now = engine_clock.now()
        action = request.form.get("action")
        try:
            if action == "hour":
                target = now + timedelta(hours=1)
            elif action == "day":
                target = now + timedelta(days=1)
            else:
                target = _parse_target(form.target.data)
            if target < now:
                raise ActionRefused(
                    f"模拟时钟不能倒退：当前为 {timefmt.instant(now)}，不能拨到 {timefmt.instant(target)}"
                )
            engine_clock.set(target)
        except ActionRefused as exc:
            flash(exc.message, "error")
            status = 422
        else:
            factory = sessionmaker(bind=db.engine)
            report = tick(factory, engine_clock)
            remind(factory, engine_clock, senders_from_env(os.environ))  # reminders ride on the timer sweep
            flash(
                f"模拟时钟已拨到 {timefmt.instant(target)}；触发定时事件 {len(report.fired)} 个"
                + (f"，失败 {len(report.failed)} 个" if report.failed else ""),
                "success",
            )
            return redirect(url_for("admin.clock"))
    return render_template("admin/clock.html", form=form, now=engine_clock.now()), status


def _parse_target(text: str | None) -> datetime:
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timefmt.TZ)
        except ValueError:
            continue
    raise ActionRefused("拨到指定时间：格式应为 2020-11-27 或 2020-11-27 09:00")
