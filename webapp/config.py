"""Configuration read from the environment; tests pass overrides to create_app.

Security settings (README "Security"):
- ZHICHENG_SECRET_KEY: signs session cookies and CSRF tokens. Required outside the sandbox demo, tests and
  the command line; `create_app` refuses to start without a real one (see `secret_key_problem`).
- ZHICHENG_HTTPS=1: the site is served over HTTPS, so the session cookie is sent with `Secure`.
- ZHICHENG_PROXY_HOPS=N: the app sits behind N reverse proxies that set X-Forwarded-For/-Proto/-Host;
  werkzeug's ProxyFix then trusts exactly N hops (client addresses for login throttling come from it).
"""

from __future__ import annotations

import os
from pathlib import Path

# Values that must never sign a production cookie: the old built-in default and obvious placeholders.
KNOWN_WEAK_KEYS = frozenset({"dev-only-change-me", "change-me", "changeme", "secret", "dev", "test"})
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_HELP = (
    "set ZHICHENG_SECRET_KEY to a random value of at least "
    f"{MIN_SECRET_KEY_LENGTH} characters, e.g. "
    "export ZHICHENG_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
)


def secret_key_problem(key: str | None) -> str | None:
    """Why `key` may not sign production sessions, or None if it may."""
    if not key:
        return "ZHICHENG_SECRET_KEY is not set"
    if key in KNOWN_WEAK_KEYS:
        return "ZHICHENG_SECRET_KEY is a well-known placeholder"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"ZHICHENG_SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


def _flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


class Config:
    def __init__(self) -> None:
        instance = Path(os.environ.get("ZHICHENG_INSTANCE", Path.cwd() / "instance"))
        self.INSTANCE_DIR = str(instance)
        # None: create_app generates one only for the sandbox, tests and the CLI, and refuses otherwise.
        self.SECRET_KEY = os.environ.get("ZHICHENG_SECRET_KEY") or None
        # DATABASE_URL, or ZHICHENG_DATABASE_URL like every other setting here (a name that was silently
        # ignored sent `db upgrade` and `deploy` to the default file while `simulate --database-url` opened
        # the intended one). DATABASE_URL wins when both are set.
        self.SQLALCHEMY_DATABASE_URI = (
            os.environ.get("DATABASE_URL")
            or os.environ.get("ZHICHENG_DATABASE_URL")
            or f"sqlite:///{instance / 'zhicheng.sqlite'}"
        )
        self.ZHICHENG_SANDBOX = os.environ.get("ZHICHENG_SANDBOX", "0") == "1"
        # A Clock object; None means SystemClock (create_app fills it in).
        self.ZHICHENG_CLOCK = None
        self.UPLOAD_DIR = os.environ.get("ZHICHENG_UPLOAD_DIR", str(instance / "uploads"))
        # Whole request; Flask answers 413 above it.
        self.MAX_CONTENT_LENGTH = int(os.environ.get("ZHICHENG_MAX_UPLOAD", 10 * 1024 * 1024))
        # Each uploaded file; webapp.uploads refuses larger ones naming the field.
        self.UPLOAD_MAX_FILE_BYTES = int(os.environ.get("ZHICHENG_MAX_FILE", 5 * 1024 * 1024))
        # The checkpoint signing key (Ed25519, PEM): read only by `zhicheng worker` and `zhicheng audit
        # checkpoint`, never by the web process; keep it off the database host's backups. The public key
        # (default: the same path + ".pub") is what auditors hold and the audit pages offer for download.
        self.AUDIT_KEY_PATH = os.environ.get("ZHICHENG_AUDIT_KEY", str(instance / "audit-key.pem"))
        self.AUDIT_PUBLIC_KEY_PATH = os.environ.get("ZHICHENG_AUDIT_PUBLIC_KEY", self.AUDIT_KEY_PATH + ".pub")
        self.WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: long forms take time
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        # One switch for HTTPS deployments: the session cookie then never travels over plain HTTP.
        self.ZHICHENG_HTTPS = _flag("ZHICHENG_HTTPS")
        self.SESSION_COOKIE_SECURE = self.ZHICHENG_HTTPS
        # 0: no reverse proxy, X-Forwarded-* headers are ignored (a client could forge them).
        self.ZHICHENG_PROXY_HOPS = int(os.environ.get("ZHICHENG_PROXY_HOPS", "0") or 0)
