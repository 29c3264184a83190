"""security: login throttles, session versions, invitations, attachment grants

Revision ID: a0a927f08e48
Revises: d10a5e7f3c21
Create Date: 2026-11-28 00:59:15.882604

Issue 12. login_throttle replaces the per-account hard lock (user_account.failed_logins / locked_until are
dropped: growing delays by client address and by account, shared by every worker). session_version lets
logout, password change and reset end every other session. invitation: adding an existing account to an
org needs that person's consent. attachment_grant: a declaration may cite only files its applicant uploaded
for it. Existing attachments stay valid where a declaration already cites them.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a0a927f08e48"
down_revision = "d10a5e7f3c21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined')", name=op.f("ck_invitation_status")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["user_account.id"], name=op.f("fk_invitation_invited_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_invitation_org_id_org")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_invitation_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_user_id"), ["user_id"], unique=False)

    op.create_table(
        "attachment_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_attachment_grant_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_attachment_grant_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment_grant")),
        sa.UniqueConstraint("sha256", "user_id", "application_id", name="uq_attachment_grant"),
    )
    with op.batch_alter_table("attachment_grant", schema=None) as batch_op:
        batch_op.create_index("ix_attachment_grant_user_app", ["user_id", "application_id"], unique=False)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.INTEGER(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("locked_until", sa.DATETIME(), nullable=True))
        batch_op.drop_column("session_version")

    with op.batch_alter_table("attachment_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_grant_user_app")

    op.drop_table("attachment_grant")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_user_id"))

    op.drop_table("invitation")
    op.drop_table("login_throttle")
