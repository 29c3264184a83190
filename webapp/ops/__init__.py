"""Operations endpoints and hooks: /healthz, /metrics, request ids and structured logs.

Settings (environment, overridable by create_app's config):
- ZHICHENG_METRICS_TOKEN: /metrics answers a request with `Authorization: Bearer <token>`;
- ZHICHENG_METRICS_ALLOW: comma-separated addresses or networks allowed without the token (default
  loopback only); behind a proxy the address is the client's only with ZHICHENG_PROXY_HOPS set;
- ZHICHENG_HEALTH_MAX_HEARTBEAT_AGE (s, default 120), ZHICHENG_HEALTH_MAX_TIMER_LAG (s, default 300);
- ZHICHENG_LOG_FORMAT (text | json), ZHICHENG_LOG_LEVEL (default INFO).
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from engine import ops
from engine.clock import SystemClock

from . import logs, metrics

bp = Blueprint("ops", __name__)

SETTINGS = {
    "ZHICHENG_METRICS_TOKEN": ("", str),
    "ZHICHENG_METRICS_ALLOW": ("127.0.0.0/8,::1", str),
    "ZHICHENG_HEALTH_MAX_HEARTBEAT_AGE": (120.0, float),
    "ZHICHENG_HEALTH_MAX_TIMER_LAG": (300.0, float),
    "ZHICHENG_LOG_FORMAT": ("text", str),
    "ZHICHENG_LOG_LEVEL": ("INFO", str),
}


def settings_from_env() -> dict:
    return {key: cast(os.environ.get(key, default)) for key, (default, cast) in SETTINGS.items()}


def init_app(app: Flask) -> None:
    for key, value in settings_from_env().items():
        app.config.setdefault(key, value)
    if app.config["ZHICHENG_LOG_FORMAT"] not in ("text", "json"):
        raise ValueError("ZHICHENG_LOG_FORMAT must be text or json")
    logs.configure(app.config["ZHICHENG_LOG_FORMAT"], app.config["ZHICHENG_LOG_LEVEL"])
    app.extensions["zhicheng_migration_heads"] = ops.migration_heads()
    logs.install_request_hooks(
        app, on_done=lambda endpoint, method, s: metrics.REQUESTS.labels(endpoint, method).observe(s)
    )
    app.register_blueprint(bp)


def _session():
    from webapp.extensions import db

    return db.session


@bp.get("/healthz")
def healthz():
    """200 when the database answers, the schema is at head, a worker swept lately and no timer is late."""
    from webapp.clock import get_clock

    cfg = current_app.config
    try:
        now = get_clock().now()
    except Exception:  # noqa: BLE001 - the sandbox clock lives in the database, which may be down
        now = SystemClock().now()
    result = ops.health(
        _session(),
        now,
        SystemClock().now(),
        heads=current_app.extensions["zhicheng_migration_heads"],
        max_heartbeat_age=cfg["ZHICHENG_HEALTH_MAX_HEARTBEAT_AGE"],
        max_timer_lag=cfg["ZHICHENG_HEALTH_MAX_TIMER_LAG"],
    )
    _session().rollback()
    body = {"status": "ok" if result.ok else "unhealthy", "checks": result.checks}
    return jsonify(body), 200 if result.ok else 503


def metrics_allowed() -> bool:
    cfg = current_app.config
    token = cfg.get("ZHICHENG_METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for entry in filter(None, (e.strip() for e in (cfg.get("ZHICHENG_METRICS_ALLOW") or "").split(","))):
        if client in ipaddress.ip_network(entry, strict=False):
            return True
    return False


@bp.get("/metrics")
def metrics_endpoint():
    if not metrics_allowed():
        return Response("禁止访问：/metrics 需要令牌或来自允许的地址\n", 403, mimetype="text/plain")
    from webapp.clock import get_clock

    def read():
        try:
            return ops.gauges(_session(), get_clock().now(), SystemClock().now())
        finally:
            _session().rollback()

    body, content_type = metrics.exposition(read)
    return Response(body, 200, content_type=content_type)
