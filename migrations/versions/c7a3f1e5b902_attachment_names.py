"""attachment_name: each uploader's own name for stored bytes

Revision ID: c7a3f1e5b902
Revises: a0a927f08e48
Create Date: 2026-11-28 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7a3f1e5b902"
down_revision = "a0a927f08e48"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachment_name",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"], ["attachment.sha256"], name=op.f("fk_attachment_name_sha256_attachment")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_attachment_name_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("sha256", "user_id", name=op.f("pk_attachment_name")),
    )
    # uploads recorded before this revision keep the first uploader's name
    op.execute(
        "INSERT INTO attachment_name (sha256, user_id, original_name, created_at) "
        "SELECT sha256, uploaded_by_id, original_name, created_at FROM attachment WHERE uploaded_by_id IS NOT NULL"
    )


def downgrade():
    op.drop_table("attachment_name")
