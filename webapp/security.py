"""The app's security setup in one place: the secret key, response headers, cookie and proxy settings,
refusing NUL bytes in any input. Settings are documented in webapp/config.py and README "Security".
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.serving import WSGIRequestHandler

from engine.errors import ConfigError

from .config import SECRET_KEY_HELP, secret_key_problem

# No inline script or style anywhere: scripts and styles are files under /static (print.js, site.css).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
SECRET_KEY_FILE = "secret_key"


class InsecureConfig(ConfigError):
    """The app would run with a setting anyone can exploit (a missing or well-known secret key)."""


class NulInInput(BadRequest):
    """A NUL byte in a parameter, form field or file name: refused before any view (PostgreSQL rejects them)."""

    description = "提交的内容包含不允许的控制字符（NUL），请删除后重新提交。"


def configure(app: Flask) -> None:
    """Secret key, Secure cookie, ProxyFix, headers and the NUL guard."""
    _ensure_secret_key(app)
    if app.config.get("ZHICHENG_HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
    hops = int(app.config.get("ZHICHENG_PROXY_HOPS") or 0)
    if hops > 0:  # only then are X-Forwarded-* trusted, and only as many hops as configured
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.before_request
    def refuse_nul():
        if _has_nul(request):
            raise NulInInput()

    @app.after_request
    def security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.pop("Server", None)
        return response


def _has_nul(req) -> bool:
    if "\x00" in req.path:
        return True
    for key, value in req.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            return True
    if req.method in ("POST", "PUT", "PATCH"):
        for key, value in req.form.items(multi=True):
            if "\x00" in key or "\x00" in value:
                return True
        for key, storage in req.files.items(multi=True):
            if "\x00" in key or "\x00" in (storage.filename or ""):
                return True
    return False


def _ensure_secret_key(app: Flask) -> None:
    """Refuse to serve with a missing or well-known key, except where a generated one is safe.

    Tests (TESTING) may use any key they set; the sandbox demo keeps a random key in its instance folder; the
    command line (which signs no cookies) gets a throwaway one. Everything else — gunicorn above all — must
    be given ZHICHENG_SECRET_KEY.
    """
    key = app.config.get("SECRET_KEY")
    if app.config.get("TESTING") and key:
        return
    problem = secret_key_problem(key)
    if problem is None:
        return
    if app.config.get("ZHICHENG_SANDBOX"):
        app.config["SECRET_KEY"] = _instance_key(Path(app.config["INSTANCE_DIR"]))
    elif app.config.get("ZHICHENG_CLI") or app.config.get("TESTING"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    else:
        raise InsecureConfig(f"refusing to start: {problem}; {SECRET_KEY_HELP}", key="ZHICHENG_SECRET_KEY")


def _instance_key(instance: Path) -> str:
    """The sandbox's own random key, created once per instance folder (readable by its owner only)."""
    path = instance / SECRET_KEY_FILE
    try:
        existing = path.read_text().strip()
    except OSError:
        existing = ""
    if secret_key_problem(existing) is None:
        return existing
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


class QuietRequestHandler(WSGIRequestHandler):
    """The development server's handler without its `Server: Werkzeug/… Python/…` banner."""

    def version_string(self) -> str:
        return "zhicheng"
