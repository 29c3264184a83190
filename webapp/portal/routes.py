"""The portal index reads the campaign file; a missing or broken file still leaves a usable page."""

from __future__ import annotations

from flask import current_app, render_template

from engine import registration
from engine.errors import ZhichengError
from engine.paths import bpmn_dir
from engine.store import services

from ..clock import get_clock
from ..extensions import db
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


def _registration_campaigns() -> list:
    """The campaigns whose registration windows apply: every current deployment's, else the notice shown here."""
    campaigns = [d.campaign for d in services.current_deployments(db.session)]
    if not campaigns:
        campaign, _ = _load_campaign()
        campaigns = [campaign] if campaign is not None else []
    return campaigns


def registration_state() -> registration.RegistrationState:
    """Whether registration is open now: the home page and both register pages show this one answer."""
    return registration.state(_registration_campaigns(), get_clock().now())


def require_registration_open() -> None:
    """Raises OutsideWindow (with the day registration opens or closed) outside every current window."""
    registration.require_open(_registration_campaigns(), get_clock().now())


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
    return render_template(
        "portal/index.html",
        campaign=campaign,
        windows=windows,
        problem=problem,
        registration=registration_state(),
    )
