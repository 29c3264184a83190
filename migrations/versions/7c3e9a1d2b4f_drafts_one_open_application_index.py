"""drafts table; one open application per applicant and campaign; status+unit index

Revision ID: 7c3e9a1d2b4f
Revises: 600fe0d7169c
Create Date: 2026-11-28 10:00:00.000000

The partial unique index fails to build if a database already holds two open applications of one applicant
in one campaign (possible before this revision, when only a SELECT guarded it): end or merge those first.

Also adds, on PostgreSQL only, org.registered_by_id's foreign key: the initial revision declares it with
use_alter=True inside create_table, which PostgreSQL skips (SQLite writes it inline), so `db check` found it
missing there.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c3e9a1d2b4f"
down_revision = "600fe0d7169c"
branch_labels = None
depends_on = None

OPEN = sa.text("status NOT IN ('expired', 'confirmed', 'not_recommended')")


def upgrade():
    op.create_table(
        "draft",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["application.id"], name=op.f("fk_draft_application_id_application")
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"], ["user_account.id"], name=op.f("fk_draft_saved_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_draft")),
    )
    op.create_index(
        "uq_application_one_open_per_campaign",
        "application",
        ["applicant_id", "campaign_id"],
        unique=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index("ix_application_status_unit", "application", ["status", "unit_id"], unique=False)
    if _missing_org_registered_by_fk():
        op.create_foreign_key(
            op.f("fk_org_registered_by_id_user_account"), "org", "user_account", ["registered_by_id"], ["id"]
        )


def _missing_org_registered_by_fk() -> bool:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return False
    names = {fk["name"] for fk in sa.inspect(bind).get_foreign_keys("org")}
    return "fk_org_registered_by_id_user_account" not in names


def downgrade():
    op.drop_index("ix_application_status_unit", table_name="application")
    op.drop_index("uq_application_one_open_per_campaign", table_name="application")
    op.drop_table("draft")
