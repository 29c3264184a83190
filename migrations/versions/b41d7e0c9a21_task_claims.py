"""task_claim: a reviewer's claim on a task, shown to colleagues

Revision ID: b41d7e0c9a21
Revises: b5e2c7d94a10
Create Date: 2026-11-28 01:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b41d7e0c9a21"
down_revision = "b5e2c7d94a10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "task_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=50), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("app_version", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["application.id"], name=op.f("fk_task_claim_application_id_application")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_task_claim_org_id_org")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_task_claim_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_claim")),
        sa.UniqueConstraint("application_id", "stage", name="uq_task_claim_application_stage"),
    )
    op.create_index(op.f("ix_task_claim_org_id"), "task_claim", ["org_id"], unique=False)
    op.create_index(op.f("ix_task_claim_user_id"), "task_claim", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_task_claim_user_id"), table_name="task_claim")
    op.drop_index(op.f("ix_task_claim_org_id"), table_name="task_claim")
    op.drop_table("task_claim")
