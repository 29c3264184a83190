"""Which uploaded files an application may cite: a `sha256:…` ref sent back by a browser is accepted only if
the acting user uploaded those bytes for this application, or the application already holds that ref.

Without it, anyone who learnt another applicant's file hash could cite it in their own declaration and then
download it under its original name. Content-addressed storage stays: the grant, not the bytes, is per person.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .tables import AttachmentGrant, AttachmentName, Draft, HistoryEvent

REF_RE = re.compile(r"sha256:([0-9a-f]{64})")


def grant(session: Session, now: datetime, *, sha256: str, user_id: int, application_id: int | None) -> None:
    """Record that `user_id` uploaded these bytes for `application_id` (idempotent)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(AttachmentGrant)
        .values(sha256=sha256, user_id=user_id, application_id=application_id, created_at=now)
        .on_conflict_do_nothing()
    )


def citable(session: Session, application_id: int | None, user_id: int | None, shas: set[str]) -> set[str]:
    """Of `shas`, those this user may cite in this application: uploaded by them for it, or already in it
    (a form recorded in its history, or its draft). The web layer asks this of every ref a browser sends
    back. The history is the record; the stored workflow state is only a snapshot at intervals."""
    if not shas or application_id is None or user_id is None:
        return set()
    held: set[str] = set()
    recorded = session.scalars(
        select(HistoryEvent.data_json).where(
            HistoryEvent.application_id == application_id, HistoryEvent.event_type == "completed"
        )
    )
    draft = session.scalar(select(Draft.data_json).where(Draft.application_id == application_id))
    for text in (*recorded, draft):
        held.update(sha for sha in REF_RE.findall(text or "") if sha in shas)
    wanted = shas - held
    if wanted:
        held.update(
            session.scalars(
                select(AttachmentGrant.sha256).where(
                    AttachmentGrant.sha256.in_(wanted),
                    AttachmentGrant.user_id == user_id,
                    AttachmentGrant.application_id == application_id,
                )
            )
        )
    return held


def own_upload_name(session: Session, user_id: int | None, sha256: str | None) -> str | None:
    """The name `user_id` uploaded these bytes under; None when they never uploaded them. A form that
    re-offers an earlier upload (org registration's certificate) keeps a ref only if it is the sender's own."""
    if not user_id or not sha256 or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    return session.scalar(
        select(AttachmentName.original_name).where(
            AttachmentName.sha256 == sha256, AttachmentName.user_id == user_id
        )
    )
