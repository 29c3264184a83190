"""work_item (org_id, deadline, actionable_from, id) replaces (org_id, deadline, actionable_from): the inbox's
order ends with the id, and PostgreSQL (whose index entries do not carry it, unlike SQLite's rowid) otherwise
sorts every item of a same-deadline group — 0.7 s for a committee holding 140,000 items at 1,000,000
applications, 0.15 ms with the id in the index

Revision ID: a7d3e9c1b524
Revises: e5a1c9d7b3f2
Create Date: 2026-11-28 05:00:00.000000
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7d3e9c1b524"
down_revision = "e5a1c9d7b3f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_work_item_org_inbox", "work_item", ["org_id", "deadline", "actionable_from", "id"], unique=False
    )
    op.drop_index("ix_work_item_org_deadline_opens", table_name="work_item")


def downgrade():
    op.create_index(
        "ix_work_item_org_deadline_opens",
        "work_item",
        ["org_id", "deadline", "actionable_from"],
        unique=False,
    )
    op.drop_index("ix_work_item_org_inbox", table_name="work_item")
