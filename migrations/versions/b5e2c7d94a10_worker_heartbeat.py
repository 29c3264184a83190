"""worker_heartbeat: the timer workers' last sign of life, for /healthz and /metrics

Revision ID: b5e2c7d94a10
Revises: b15e0a7c4d21
Create Date: 2026-11-28 01:25:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "b5e2c7d94a10"
down_revision = "b15e0a7c4d21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_heartbeat",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("fired_total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeat")),
    )
    with op.batch_alter_table("worker_heartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_heartbeat_seen_at"), ["seen_at"], unique=False)


def downgrade():
    with op.batch_alter_table("worker_heartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_heartbeat_seen_at"))
    op.drop_table("worker_heartbeat")
