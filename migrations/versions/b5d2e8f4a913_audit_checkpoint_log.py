"""audit checkpoint log: log entries (Merkle leaves) and signed checkpoints

Revision ID: b5d2e8f4a913
Revises: b41d7e0c9a21
Create Date: 2026-11-28 01:30:00.000000

No foreign keys to application on purpose: the log must outlive a forger's deletion of an application.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5d2e8f4a913"
down_revision = "b41d7e0c9a21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_log_entry",
        sa.Column("leaf_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_audit_log_entry")),
        sa.UniqueConstraint("application_id", "seq", name="uq_audit_log_entry_application_seq"),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("previous_size", sa.Integer(), nullable=False),
        sa.Column("consistency_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )


def downgrade():
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_log_entry")
