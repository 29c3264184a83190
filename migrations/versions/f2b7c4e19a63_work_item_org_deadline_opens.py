"""work_item (org_id, deadline, actionable_from) replaces (org_id, deadline): an org's inbox page and its tab
counts (one GROUP BY) read the index only, at any size; application (applicant_name) and (series): the desk's
sorts by name and series for an org holding many items walk an index instead of sorting every item

Revision ID: f2b7c4e19a63
Revises: e4c1a9b7d302
Create Date: 2026-11-28 04:10:00.000000
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "f2b7c4e19a63"
down_revision = "e4c1a9b7d302"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_work_item_org_deadline_opens",
        "work_item",
        ["org_id", "deadline", "actionable_from"],
        unique=False,
    )
    op.drop_index("ix_work_item_org_deadline", table_name="work_item")
    op.create_index("ix_application_name", "application", ["applicant_name"], unique=False)
    op.create_index("ix_application_series", "application", ["series"], unique=False)


def downgrade():
    op.drop_index("ix_application_series", table_name="application")
    op.drop_index("ix_application_name", table_name="application")
    op.create_index("ix_work_item_org_deadline", "work_item", ["org_id", "deadline"], unique=False)
    op.drop_index("ix_work_item_org_deadline_opens", table_name="work_item")
