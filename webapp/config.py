"""Configuration read from the environment; tests pass overrides to create_app."""

from __future__ import annotations

import os
from pathlib import Path


class Config:
    def __init__(self) -> None:
        instance = Path(os.environ.get("ZHICHENG_INSTANCE", Path.cwd() / "instance"))
        self.INSTANCE_DIR = str(instance)
        self.SECRET_KEY = os.environ.get("ZHICHENG_SECRET_KEY", "dev-only-change-me")
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'zhicheng.sqlite'}"
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
