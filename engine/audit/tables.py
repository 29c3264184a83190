"""Tables of the checkpoint log: its entries (the Merkle leaves) and the signed checkpoints over them.

They hold no foreign keys to the application tables on purpose: the log must outlive a forger's deletion of
an application, so that verify can say "the log knows this application, the database no longer does".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.accounts.models import UTCDateTime
from engine.db import Base


class LogEntry(Base):
    """One leaf of the log: an application's history event (seq, hash) as it stood when first logged."""

    __tablename__ = "audit_log_entry"
    __table_args__ = (UniqueConstraint("application_id", "seq", name="uq_audit_log_entry_application_seq"),)

    leaf_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    application_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    event_hash: Mapped[str] = mapped_column(String(64))


class Checkpoint(Base):
    """A signed tree head: the log's size and Merkle root at an engine-clock instant, and the proof that it
    extends the previous checkpoint."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    root_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    previous_size: Mapped[int] = mapped_column(Integer)
    consistency_json: Mapped[str] = mapped_column(Text)  # hex hashes: PROOF(previous_size, this tree)
