"""deployment_engine_version: the engine version that interpreted each deployment (issue 10 item 5)

Rows stored before this revision were interpreted by engine version 1.

Revision ID: d10a5e7f3c21
Revises: b14e5a7c0d21
Create Date: 2026-11-28 01:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "d10a5e7f3c21"
down_revision = "b14e5a7c0d21"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("engine_version", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_column("engine_version")
