"""application_org: the acting org of each chain tier a BPMN lane names by org type (lane `orgType`)

Applications started before this revision have only the fixed chain columns; the table starts empty.

Revision ID: e4c1a9b7d302
Revises: d3b8e2a61c47
Create Date: 2026-11-28 04:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e4c1a9b7d302"
down_revision = "d3b8e2a61c47"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "application_org",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["application.id"], name=op.f("fk_application_org_application_id_application")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_application_org_org_id_org")),
        sa.PrimaryKeyConstraint("application_id", "tier", name=op.f("pk_application_org")),
    )
    op.create_index("ix_application_org_org", "application_org", ["org_id", "application_id"], unique=False)


def downgrade():
    op.drop_index("ix_application_org_org", table_name="application_org")
    op.drop_table("application_org")
