"""Declaration drafts, one JSON file per application beside the uploads.

A stopgap: the store (engine/store) has no draft table or service yet. Drafts are the applicant's own
unsubmitted typing, never workflow state; replace this module with the store's draft calls when they land.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from flask import current_app


def _path(app_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "drafts" / f"{int(app_id)}.json"


def save_draft(app_id: int, data: dict) -> None:
    """Keep the typed data of an application's declaration (replacing the previous draft)."""
    path = _path(app_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".draft-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False)
    os.replace(tmp, path)


def load_draft(app_id: int) -> dict | None:
    """The saved draft, or None."""
    path = _path(app_id)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def drop_draft(app_id: int) -> None:
    """Forget the draft once the declaration is submitted."""
    _path(app_id).unlink(missing_ok=True)
