"""Tables of the persisted engine: deployments, applications with their state, work indexes, history.

Inboxes, deadlines and sweeps read `application`, `work_item` and `due_timer` only; `workflow_state`
(SpiffWorkflow instance state, without the spec) is read when a single application is acted on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.accounts.models import UTCDateTime
from engine.db import Base

# Statuses in which an application is finished: a new one may be started for the same campaign.
ENDED_STATUSES = ("expired", "confirmed", "not_recommended")
# The predicate of the partial unique index below, as SQL both PostgreSQL and SQLite accept.
OPEN_APPLICATION = text("status NOT IN (" + ", ".join(f"'{s}'" for s in ENDED_STATUSES) + ")")
ONE_OPEN_INDEX = "uq_application_one_open_per_campaign"


class DeploymentRow(Base):
    """A deployed BPMN + forms + campaign, stored once under its content hash."""

    __tablename__ = "deployment"
    __table_args__ = (Index("ix_deployment_campaign_current", "campaign_id", "is_current"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(100))
    process_id: Mapped[str] = mapped_column(String(100))
    spec_json: Mapped[str] = mapped_column(Text)
    sources_json: Mapped[str] = mapped_column(Text)  # {relative name: text}
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    # The engine version that interpreted the sources when deployed (engine.deployment.ENGINE_VERSION).
    engine_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApplicationRow(Base):
    """One declaration: who, which campaign and deployment, its review chain and where it stands now."""

    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_applicant_campaign", "applicant_id", "campaign_id"),
        Index("ix_application_responsible_status", "responsible_org_id", "status"),
        # One open application per applicant and campaign, held by the database under concurrency.
        Index(
            ONE_OPEN_INDEX,
            "applicant_id",
            "campaign_id",
            unique=True,
            postgresql_where=OPEN_APPLICATION,
            sqlite_where=OPEN_APPLICATION,
        ),
        Index("ix_application_status_unit", "status", "unit_id"),  # the units' 公示中 lists
        # The desk's sorts by name and series for an org holding many items (engine/store/desk.py walks them).
        # The name index ends with the id, the sort's tie-break: PostgreSQL pages a name sort from it without
        # reading the table or sorting each name's group (SQLite's indexes end with the rowid anyway).
        Index("ix_application_name_id", "applicant_name", "id"),
        Index("ix_application_series", "series"),
        # Covering indexes of the dashboards' counts (engine/dashboard.py): district HR offices and municipal
        # departments, committees, the city; each GROUP BY reads one index, never the table.
        Index(
            "ix_application_dash_tier3",
            "tier3_id",
            "campaign_id",
            "series",
            "tier2_id",
            "unit_id",
            "status",
            "stage",
        ),
        Index(
            "ix_application_dash_committee",
            "committee_id",
            "campaign_id",
            "series",
            "tier3_id",
            "status",
            "stage",
        ),
        Index("ix_application_dash_city", "campaign_id", "series", "tier3_id", "status", "stage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    campaign_id: Mapped[str] = mapped_column(String(100))
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    tier2_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    tier3_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    committee_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    status: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str | None] = mapped_column(String(50))
    waiting_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actionable_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responsible_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    applicant_name: Mapped[str] = mapped_column(String(50), default="")
    series: Mapped[str | None] = mapped_column(String(100))
    title_sought: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The head of the history chain, written with every event: the next event links to it without a
    # SELECT, and a cached workflow is used only when it was built from exactly this history.
    head_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    head_hash: Mapped[str | None] = mapped_column(String(64))


class ApplicationOrg(Base):
    """The acting org of each chain tier outside the fixed columns above: tiers a BPMN lane names by org
    type (lane `orgType`, engine.accounts.tiers.acting_orgs), resolved when the application starts and
    recorded in its genesis event like the rest of the chain. Scope checks read it (an org sees only the
    applications it acts on)."""

    __tablename__ = "application_org"
    __table_args__ = (Index("ix_application_org_org", "org_id", "application_id"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))


class WorkflowState(Base):
    """A snapshot of the serialized SpiffWorkflow instance state (no spec: that lives once in `deployment`).

    The history is the record; this is the state after event `seq`, written at intervals (engine/store/
    README.md). The current state is this snapshot plus the events after it, replayed.
    """

    __tablename__ = "workflow_state"

    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), primary_key=True)
    state_json: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WorkItem(Base):
    """One ready user task: the inbox index."""

    __tablename__ = "work_item"
    __table_args__ = (
        # An org's inbox in its order (queries.INBOX_ORDER, ending with the id: PostgreSQL's index entries do not
        # carry it as SQLite's rowid does) and its tab counts (one grouped read), without touching the table.
        Index("ix_work_item_org_inbox", "org_id", "deadline", "actionable_from", "id"),
        # The org's work per stage (the desk's tab counts and the menu's per-stage badges: one grouped read,
        # engine/store/desk.py `tallies`) and a broad search's capped count, which joins `application` from
        # the application id here without touching the table.
        Index("ix_work_item_org_stage", "org_id", "stage", "deadline", "actionable_from", "application_id"),
        Index("ix_work_item_deadline", "deadline"),  # the dashboards' at-risk lists and the reminder bands
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    stage: Mapped[str] = mapped_column(String(50))
    tier: Mapped[str] = mapped_column(String(20))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    actionable_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DueTimer(Base):
    """A timer waiting to fire; `next_attempt_at` is NULL once parked with an incident."""

    __tablename__ = "due_timer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class HistoryEvent(Base):
    """One state change, hash-chained per application: sha256(canonical fields + prev_hash)."""

    __tablename__ = "history_event"
    __table_args__ = (
        UniqueConstraint("application_id", "seq", name="uq_history_event_application_seq"),
        Index("ix_history_event_org_type_at", "org_id", "event_type", "at"),  # an org's 已办 list
        Index(
            "ix_history_event_type_stage_at", "event_type", "stage", "at", "application_id"
        ),  # the dashboard's per-day chart
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    event_type: Mapped[str] = mapped_column(String(30))
    stage: Mapped[str | None] = mapped_column(String(100))
    data_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Attachment(Base):
    """An uploaded file, by content hash; the bytes live on disk, never in a row."""

    __tablename__ = "attachment"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttachmentGrant(Base):
    """Who uploaded which bytes for which application: a declaration may cite only its own uploads."""

    __tablename__ = "attachment_grant"
    __table_args__ = (
        UniqueConstraint("sha256", "user_id", "application_id", name="uq_attachment_grant"),
        Index("ix_attachment_grant_user_app", "user_id", "application_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # None: uploaded outside an application (an org's certificate).
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Draft(Base):
    """The applicant's unsubmitted typing for one application; never workflow state, dropped on submission."""

    __tablename__ = "draft"

    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), primary_key=True)
    data_json: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    saved_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class Incident(Base):
    """A timer that kept failing: parked for an operator instead of retried forever."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    error: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SandboxClockRow(Base):
    """The demo's simulated engine clock, one row shared by the web and worker processes."""

    __tablename__ = "sandbox_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    now: Mapped[datetime] = mapped_column(UTCDateTime())


class TaskClaim(Base):
    """A reviewer's claim on a task of their org, shown to colleagues (申请书审核 for hundreds).

    Valid only while the application still has the version it had when claimed: any action on the application
    (completion, return, timer) makes the claim stale without a write on the engine's own path.
    """

    __tablename__ = "task_claim"
    __table_args__ = (UniqueConstraint("application_id", "stage", name="uq_task_claim_application_stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    stage: Mapped[str] = mapped_column(String(50))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    app_version: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkerHeartbeat(Base):
    """Last sign of life of each timer worker (host:pid), written every sweep; /healthz reads the newest."""

    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    fired_total: Mapped[int] = mapped_column(BigInteger, default=0)


class AttachmentName(Base):
    """The name a person gave to stored bytes: two applicants uploading the same file each keep their own name."""

    __tablename__ = "attachment_name"

    sha256: Mapped[str] = mapped_column(ForeignKey("attachment.sha256"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    original_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# The audit log's tables share this metadata; importing them here makes every create_all and migration see them.
import engine.audit.tables  # noqa: E402,F401
