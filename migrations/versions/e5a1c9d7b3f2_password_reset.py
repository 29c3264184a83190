"""password_reset log and user_account.must_change_password (issue 11 item 9: recovery through an admin)

Revision ID: e5a1c9d7b3f2
Revises: f2b7c4e19a63
Create Date: 2026-11-28 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5a1c9d7b3f2"
down_revision = "f2b7c4e19a63"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_password_reset_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_password_reset_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_password_reset_org_id_org")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset")),
    )
    op.create_index("ix_password_reset_user_id", "password_reset", ["user_id"], unique=False)
    op.create_index("ix_password_reset_actor_id", "password_reset", ["actor_id"], unique=False)
    op.create_index("ix_password_reset_org_id", "password_reset", ["org_id"], unique=False)


def downgrade():
    op.drop_table("password_reset")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("must_change_password")
