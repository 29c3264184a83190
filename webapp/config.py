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
            "DATABASE_URL", f"sqlite:///{instance / 'zhicheng.sqlite'}")
        self.ZHICHENG_SANDBOX = os.environ.get("ZHICHENG_SANDBOX", "0") == "1"
        self.UPLOAD_DIR = os.environ.get("ZHICHENG_UPLOAD_DIR", str(instance / "uploads"))
        self.MAX_CONTENT_LENGTH = int(os.environ.get("ZHICHENG_MAX_UPLOAD", 10 * 1024 * 1024))
