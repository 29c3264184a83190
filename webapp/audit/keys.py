"""The auditors' public key as configured (ZHICHENG_AUDIT_PUBLIC_KEY); the web process never reads the private key."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from engine.audit import signing
from engine.errors import ZhichengError


def public_key_path() -> Path:
    return Path(current_app.config["AUDIT_PUBLIC_KEY_PATH"])


def public_key_pem() -> str | None:
    """The PEM text when the file exists and holds an Ed25519 public key, else None."""
    try:
        pem = public_key_path().read_bytes()
        signing.parse_public_key(pem)
    except (OSError, ZhichengError):
        return None
    return pem.decode("ascii")


def public_key():
    """The key object, or None when none is configured (pages then say signatures were not checked)."""
    pem = public_key_pem()
    return signing.parse_public_key(pem.encode("ascii")) if pem else None
