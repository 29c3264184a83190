"""Ed25519 keys and signatures of audit checkpoints (the `cryptography` library; no home-made crypto).

The private key lives in a PEM file outside the database (its path is configuration: ZHICHENG_AUDIT_KEY);
only the checkpointer (the timer worker, `zhicheng audit checkpoint`) reads it. Auditors hold the public key
(PEM), which is all they need to check a checkpoint, in the database or in a bundle. A key is named by its
id: the first 16 hex digits of sha256 over the raw 32-byte public key.

What is signed is a short text that fixes the log's state at one instant (`checkpoint_message`), so a
signature cannot be moved to another size, root or time.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.errors import ZhichengError

MESSAGE_FORMAT = "zhicheng-checkpoint/1"


class AuditKeyError(ZhichengError):
    """An audit key file is missing, unreadable or not an Ed25519 key; the message says which file."""


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def default_public_path(private_path: Path) -> Path:
    """Where keygen puts the public key: beside the private one, with `.pub` added."""
    return private_path.with_name(private_path.name + ".pub")


def generate_keypair(private_path: Path, public_path: Path | None = None) -> tuple[Path, Path, str]:
    """Write a new private key (mode 0600) and its public key; return both paths and the key id.

    Raises AuditKeyError if either file exists already: a checkpoint key is never silently replaced.
    """
    private_path = Path(private_path)
    public_path = Path(public_path) if public_path else default_public_path(private_path)
    for path in (private_path, public_path):
        if path.exists():
            raise AuditKeyError(f"{path} 已存在，不会覆盖；请换一个路径或先移走旧文件", file=str(path))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_text(public_pem(key.public_key()), encoding="ascii")
    return private_path, public_path, key_id(key.public_key())


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"无法读取{what} {path}：{exc.strerror}", file=str(path)) from exc


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The signing key from a PEM file. Raises AuditKeyError."""
    try:
        key = serialization.load_pem_private_key(_read(path, "签名私钥"), password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path} 不是可用的私钥（PEM，无口令）", file=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} 不是 Ed25519 私钥", file=str(path))
    return key


def parse_public_key(pem: bytes, source: str = "公钥") -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes. Raises AuditKeyError naming `source`."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{source} 不是可用的公钥（PEM）", file=source) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{source} 不是 Ed25519 公钥", file=source)
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The auditors' key from a PEM file. Raises AuditKeyError."""
    return parse_public_key(_read(path, "公钥"), str(path))


def checkpoint_message(tree_size: int, root_hash: str, at: datetime, signer_key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    at_text = at.astimezone(UTC).isoformat()
    return f"{MESSAGE_FORMAT}\n{tree_size}\n{root_hash}\n{at_text}\n{signer_key_id}\n".encode("ascii")


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    return private_key.sign(message).hex()


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature_hex: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
