"""city HR office org type (the dashboard's city-wide view); indexes for the dashboard's GROUP BYs

Revision ID: c15d2e8f9a31
Revises: b5d2e8f4a913
Create Date: 2026-11-28 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c15d2e8f9a31"
down_revision = "b5d2e8f4a913"
branch_labels = None
depends_on = None

OLD_TYPES = ("unit", "district_dept", "hr_agency", "district_hr_office", "municipal_dept", "committee")
NEW_TYPES = (*OLD_TYPES, "city_hr_office")


DASHBOARD_INDEXES = {  # covering the dashboards' GROUP BYs (engine/dashboard.py)
    "ix_application_dash_tier3": [
        "tier3_id",
        "campaign_id",
        "series",
        "tier2_id",
        "unit_id",
        "status",
        "stage",
    ],
    "ix_application_dash_committee": ["committee_id", "campaign_id", "series", "tier3_id", "status", "stage"],
    "ix_application_dash_city": ["campaign_id", "series", "tier3_id", "status", "stage"],
}


def _check(types):
    return "type IN (" + ", ".join(f"'{t}'" for t in types) + ")"


def upgrade():
    with op.batch_alter_table("org") as batch:
        batch.drop_constraint(op.f("ck_org_type"), type_="check")
        batch.create_check_constraint(op.f("ck_org_type"), sa.text(_check(NEW_TYPES)))
    for name, columns in DASHBOARD_INDEXES.items():
        op.create_index(name, "application", columns, unique=False)
    op.create_index(
        "ix_history_event_type_stage_at",
        "history_event",
        ["event_type", "stage", "at", "application_id"],
        unique=False,
    )
    op.create_index("ix_work_item_deadline", "work_item", ["deadline"], unique=False)


def downgrade():
    op.drop_index("ix_work_item_deadline", table_name="work_item")
    op.drop_index("ix_history_event_type_stage_at", table_name="history_event")
    for name in DASHBOARD_INDEXES:
        op.drop_index(name, table_name="application")
    with op.batch_alter_table("org") as batch:
        batch.drop_constraint(op.f("ck_org_type"), type_="check")
        batch.create_check_constraint(op.f("ck_org_type"), sa.text(_check(OLD_TYPES)))
