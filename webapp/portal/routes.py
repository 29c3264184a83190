"""The portal index reads the campaign file; a missing or broken file still leaves a usable page."""

from __future__ import annotations

from flask import current_app, render_template

from engine.errors import ZhichengError
from engine.paths import bpmn_dir

from . import bp

CAMPAIGN_FILE = "cq-2020-senior.toml"


def _load_campaign():
    from engine.campaign import load_campaign

    path = current_app.config.get("ZHICHENG_CAMPAIGN_FILE") or bpmn_dir() / "campaigns" / CAMPAIGN_FILE
    try:
        return load_campaign(path), None
    except (ZhichengError, OSError) as exc:
        current_app.logger.warning("campaign not loaded: %s", exc)
        return None, str(exc)


@bp.route("/")
def index():
    campaign, problem = _load_campaign()
    windows = []
    if campaign is not None:
        for window in campaign.stages.values():
            try:
                deadline = campaign.deadline(window.stage)
            except ZhichengError:
                deadline = None
            windows.append((window, deadline))
    return render_template("portal/index.html", campaign=campaign, windows=windows, problem=problem)
