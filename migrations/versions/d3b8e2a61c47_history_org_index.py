"""history_event (org_id, event_type, at): an org's 已办 list without scanning the whole history

Revision ID: d3b8e2a61c47
Revises: c7a3f1e5b902
Create Date: 2026-11-28 02:20:00.000000
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d3b8e2a61c47"
down_revision = "c7a3f1e5b902"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_history_event_org_type_at", "history_event", ["org_id", "event_type", "at"], unique=False
    )


def downgrade():
    op.drop_index("ix_history_event_org_type_at", table_name="history_event")
