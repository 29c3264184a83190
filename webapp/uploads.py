"""Uploaded evidence stored by content: UPLOAD_DIR/ab/cdef… (sha256), type sniffed from the bytes.

The filename and its extension are never trusted: a `.pdf` that is really a PNG is stored as image/png,
and anything but PDF, JPEG or PNG is refused with a message naming the field, as are PDFs with active content
and files that also read as HTML (`upload_checks`). Every upload from a request is recorded in the engine's
`attachment` table (sha256, size, type, cleaned original name, uploader) with a grant naming the uploader and
application, so a declaration can cite only its own uploads. Downloads are served only for a sha256 the caller
found referenced by an application the viewer may see, never cached, with a sandboxing policy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask import abort, current_app, send_file
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from engine.errors import FormInvalid
from engine.store import queries, services

from .clock import get_clock
from .extensions import db
from .upload_checks import refuse_active_content, safe_filename

ALLOWED_MIME = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


@dataclass(frozen=True)
class StoredUpload:
    sha256: str
    mime: str
    size: int


def upload_path(upload_dir: str | Path, sha256: str) -> Path:
    """Where the bytes with this sha256 live."""
    return Path(upload_dir) / sha256[:2] / sha256[2:]


def store_bytes(
    data: bytes, upload_dir: str | Path, *, field: str, label: str, max_bytes: int
) -> StoredUpload:
    """Check and store bytes; idempotent for identical content. Raises FormInvalid naming the field."""
    if not data:
        raise FormInvalid({field: f"{label}：请选择要上传的文件"})
    if len(data) > max_bytes:
        raise FormInvalid(
            {
                field: f"{label}：文件大小 {len(data) / 1048576:.1f} MB，"
                f"超过单个文件 {max_bytes / 1048576:g} MB 的上限，请压缩后重新上传"
            }
        )
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED_MIME:
        found = f"（检测到的文件类型为 {mime}）" if mime else "（无法识别文件内容）"
        raise FormInvalid({field: f"{label}：只能上传 PDF、JPEG 或 PNG 文件{found}"})
    refuse_active_content(data, mime, field=field, label=label)
    digest = hashlib.sha256(data).hexdigest()
    target = upload_path(upload_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    return StoredUpload(digest, mime, len(data))


def save_upload(
    storage: FileStorage | None, *, field: str, label: str, application_id: int | None = None
) -> StoredUpload:
    """Store one uploaded file from the current request (the app's directory and per-file limit) and record it,
    granting its use to the uploader for `application_id`.

    Commits the request's session (the attachment row is its own unit of work): call before other writes.
    """
    limit = current_app.config["UPLOAD_MAX_FILE_BYTES"]
    data = storage.stream.read(limit + 1) if storage is not None else b""
    stored = store_bytes(data, current_app.config["UPLOAD_DIR"], field=field, label=label, max_bytes=limit)
    uploader = current_user.id if current_user.is_authenticated else None
    services.record_attachment(
        db.session,
        get_clock(),
        sha256=stored.sha256,
        size=stored.size,
        mime=stored.mime,
        original_name=safe_filename(storage.filename if storage is not None else None),
        uploaded_by=uploader,
        application_id=application_id,
    )
    return stored


def send_attachment(sha256: str, referenced: set[str]):
    """Serve stored bytes if `sha256` is among the refs of an application the viewer may see; 404 otherwise.

    The type comes from the attachment record (sniffed from the bytes at upload), else from the bytes.
    """
    if sha256 not in referenced:
        abort(404)
    return send_stored(sha256)


def send_stored(sha256: str, fallback_name: str = "附件"):
    """Stored bytes as a download: the recorded type and cleaned original name, never cached by the browser
    or a proxy, sandboxed so that even a file mistaken for a page could run nothing. 404 if absent."""
    path = upload_path(current_app.config["UPLOAD_DIR"], sha256)
    if not path.exists():
        abort(404)
    info = queries.attachment(db.session, sha256)
    mime = info.mime if info is not None else sniff_mime(path)  # stored before uploads were recorded
    name = safe_filename(info.original_name if info is not None else None, default=fallback_name)
    # werkzeug writes filename= (ASCII fallback) and filename*=UTF-8'' (the real name, percent-encoded).
    response = send_file(path, mimetype=mime, download_name=name, as_attachment=False, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def sniff_mime(path: str | Path) -> str:
    """The stored file's type, from its content."""
    kind = filetype.guess(str(path))
    return kind.mime if kind else "application/octet-stream"
