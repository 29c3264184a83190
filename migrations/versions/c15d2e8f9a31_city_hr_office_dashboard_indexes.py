"""city HR office org type (the dashboard's city-wide view); indexes for the dashboard's GROUP BYs

Revision ID: c15d2e8f9a31
Revises: b15e0a7c4d21
Create Date: 2026-11-28 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c15d2e8f9a31"
down_revision = "b15e0a7c4d21"
branch_labels = None
depends_on = None

OLD_TYPES = ("unit", "district_dept", "hr_agency", "district_hr_office", "municipal_dept", "committee")
NEW_TYPES = (*OLD_TYPES, "city_hr_office")


def _check(types):
    return "type IN (" + ", ".join(f"'{t}'" for t in types) + ")"


def upgrade():
    with op.batch_alter_table("org") as batch:
        batch.drop_constraint(op.f("ck_org_type"), type_="check")
        batch.create_check_constraint(op.f("ck_org_type"), sa.text(_check(NEW_TYPES)))
    op.create_index("ix_application_tier3_campaign", "application", ["tier3_id", "campaign_id"], unique=False)
    op.create_index(
        "ix_application_committee_campaign", "application", ["committee_id", "campaign_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_application_committee_campaign", table_name="application")
    op.drop_index("ix_application_tier3_campaign", table_name="application")
    with op.batch_alter_table("org") as batch:
        batch.drop_constraint(op.f("ck_org_type"), type_="check")
        batch.create_check_constraint(op.f("ck_org_type"), sa.text(_check(OLD_TYPES)))
