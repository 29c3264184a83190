"""application.head_seq/head_hash (the history chain's head); workflow_state.seq (the event a snapshot reflects)

Revision ID: b14e5a7c0d21
Revises: c15d2e8f9a31
Create Date: 2026-11-28 01:15:00.000000

Before this revision every action rewrote the whole workflow state, so each stored state reflects its
application's last event: both new columns are filled from history_event.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b14e5a7c0d21"
down_revision = "c15d2e8f9a31"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("head_seq", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("head_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("workflow_state") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE application SET "
        "head_seq = COALESCE((SELECT max(h.seq) FROM history_event h WHERE h.application_id = application.id), 0), "
        "head_hash = (SELECT h.hash FROM history_event h WHERE h.application_id = application.id "
        "ORDER BY h.seq DESC LIMIT 1)"
    )
    op.execute(
        "UPDATE workflow_state SET seq = COALESCE((SELECT max(h.seq) FROM history_event h "
        "WHERE h.application_id = workflow_state.application_id), 0)"
    )


def downgrade():
    with op.batch_alter_table("workflow_state") as batch:
        batch.drop_column("seq")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("head_hash")
        batch.drop_column("head_seq")
