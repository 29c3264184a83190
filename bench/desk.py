"""(g) The reviewer's desk at 100,000 applications: server time of whole pages (Flask test client, templates
rendered) for the desk's default view, a name search, an exact ID-number search, a sort by name, a deep page,
the 已办 list and its CSV export. Two org shapes: a tier-2 org holding 1/50 of the work, and one org (a
committee, as a city-wide view) holding every application — sorted by name, deep pages, a unit search matching
2,200 applications and a series filter matching all of them (counted up to desk.COUNT_CAP, shown as "超过").
Each case prints wall p50/p95 and this process's CPU per request (comparable under load). Setup bulk-inserts index rows (no workflows): applications, work items, one
completed history event per application at its org. Goal (issue 11): p95 <= 100 ms at 100k."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import insert, text

from calendars import TZ
from engine.accounts.models import Membership, Org, User
from engine.clock import FixedClock
from engine.deployment import read_sources
from engine.store import services
from engine.store.history import HistoryEvent
from engine.store.tables import ApplicationRow, WorkItem

from .common import fresh_database, loadavg, percentiles

NOW = datetime(2020, 12, 1, 10, tzinfo=TZ)
ORGS = 50


def _bulk(factory, n: int) -> tuple[int, int, int]:
    """n applications; tier-2 work spread over 50 orgs, every application also at one committee."""
    with factory() as s:
        deployment = services.deploy(s, FixedClock(NOW), read_sources())
        s.add(Org(id=1, type="committee", name="评委会", status="active", created_at=NOW))
        s.add(
            Org(id=2, type="district_hr_office", name="职改办", parent_id=1, status="active", created_at=NOW)
        )
        s.flush()
        s.execute(
            insert(Org),
            [
                {
                    "id": 10 + i,
                    "type": "district_dept",
                    "name": f"主管部门{i}",
                    "parent_id": 2,
                    "status": "active",
                    "created_at": NOW,
                }
                for i in range(ORGS)
            ]
            + [
                {
                    "id": 1000 + i,
                    "type": "unit",
                    "name": f"单位{i}",
                    "parent_id": 10 + i % ORGS,
                    "status": "active",
                    "created_at": NOW,
                }
                for i in range(500)
            ],
        )
        s.add(User(id=1, username="bench-reviewer", real_name="审核员", password_hash="!", created_at=NOW))
        s.flush()
        s.add(Membership(user_id=1, org_id=10, role="reviewer"))
        s.add(Membership(user_id=1, org_id=1, role="reviewer"))
        for start in range(0, n, 10_000):
            rows = range(start, min(n, start + 10_000))
            s.execute(
                insert(User),
                [
                    {
                        "id": 100 + i,
                        "username": f"app-{i}",
                        "real_name": f"申报人{i}",
                        "password_hash": "!",
                        "id_number": f"500116{i:012d}",
                        "created_at": NOW,
                    }
                    for i in rows
                ],
            )
            s.execute(
                insert(ApplicationRow),
                [
                    {
                        "id": i + 1,
                        "applicant_id": 100 + i,
                        "campaign_id": deployment.campaign_id,
                        "deployment_id": deployment.id,
                        "unit_id": 1000 + i % 500,
                        "tier2_id": 10 + i % ORGS,
                        "tier3_id": 2,
                        "committee_id": 1,
                        "status": "in_review",
                        "stage": "tier2_review",
                        "waiting_org_id": 10 + i % ORGS,
                        "version": 1,
                        "applicant_name": f"申报人{i}",
                        "series": "senior_engineer_full",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in rows
                ],
            )
            s.execute(
                insert(WorkItem),
                [
                    {
                        "application_id": i + 1,
                        "stage": stage,
                        "tier": tier,
                        "org_id": org,
                        "actionable_from": NOW - timedelta(days=5),
                        "deadline": NOW + timedelta(hours=i % 400),
                    }
                    for i in rows
                    for stage, tier, org in (
                        ("tier2_review", "tier2", 10 + i % ORGS),
                        ("committee_review", "committee", 1),
                    )
                ],
            )
            data = json.dumps({"form": {"decision": "approve", "opinion": "同意"}, "actor_name": "审核员"})
            s.execute(
                insert(HistoryEvent),
                [
                    {
                        "application_id": i + 1,
                        "seq": 1,
                        "at": NOW - timedelta(minutes=i),
                        "actor_id": 1,
                        "org_id": (10 + i % ORGS) if i % 2 else 1,
                        "event_type": "completed",
                        "stage": "tier2_review" if i % 2 else "committee_review",
                        "data_json": data,
                        "prev_hash": "0" * 64,
                        "hash": "0" * 64,
                    }
                    for i in rows
                ],
            )
        s.commit()
    return 10, 1, n


def _analyze(factory) -> None:
    """PostgreSQL: VACUUM ANALYZE the bulk tables of this schema, as autovacuum would give loaded tables
    (statistics and a visibility map for index-only scans); SQLite gets none (the application never runs one)."""
    engine = factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        return
    names = "application, work_item, history_event, user_account, org"  # this schema's (search_path)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {names}"))


def _app(factory):
    """The Flask app on the benchmark's database: the SQLite file, or the PostgreSQL URL with the private
    schema as its search_path (the schema lives in the engine's connect arguments, not in its URL)."""
    from webapp import create_app

    engine = factory.kw["bind"]
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.scalar(text("SHOW search_path"))
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "ZHICHENG_CLOCK": FixedClock(NOW),
        }
    )


def run(quick: bool, url=None) -> None:
    n = 10_000 if quick else 100_000
    print(
        f"(g) desk pages at {n} applications: whole-page server time (test client), 100 requests each, "
        "goal p95 <= 100 ms"
    )
    logging.getLogger("zhicheng.request").setLevel(logging.WARNING)  # one log line per request is noise here
    with fresh_database(url) as factory:
        _bulk(factory, n)
        _analyze(factory)
        app = _app(factory)
        client = app.test_client()
        from engine.accounts.services import user_profile
        from webapp.auth.session_user import SESSION_VERSION_KEY
        from webapp.extensions import db

        with app.app_context():
            version = user_profile(db.session, 1).session_version
        with client.session_transaction() as sess:  # logged in as the login view would
            sess["_user_id"] = "1"
            sess["_fresh"] = True
            sess[SESSION_VERSION_KEY] = version
        cases = [
            ("tier-2 org (2%): default view", "/review/10/"),
            ("tier-2 org: name search", "/review/10/?name=申报人12"),
            ("tier-2 org: sort by name", "/review/10/?sort=name"),
            ("tier-2 org: page 20", "/review/10/?page=20"),
            ("tier-2 org: 已办", "/review/10/handled"),
            ("committee (all): default view", "/review/1/"),
            ("committee: exact ID number", f"/review/1/?id_number=500116{n // 2:012d}"),
            ("committee: name search", "/review/1/?name=申报人4321"),
            ("committee: sort by name", "/review/1/?sort=name"),
            ("committee: sort by name, page 1000", "/review/1/?sort=name&desc=1&page=1000"),
            ("committee: unit search (2,200 match)", "/review/1/?unit=单位12"),
            ("committee: series filter (all match)", "/review/1/?series=senior_engineer_full"),
            ("committee: page 1000", "/review/1/?page=1000"),
            ("committee: 已办", "/review/1/handled"),
        ]
        for label, path in cases:
            for _ in range(5):  # warm-up
                assert client.get(path).status_code == 200, path
            samples, cpu = [], []
            for _ in range(20 if quick else 100):
                began, began_cpu = time.perf_counter(), time.process_time()
                client.get(path)
                samples.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            p50, p95 = percentiles(samples)
            cpu50, cpu95 = percentiles(cpu)  # this process's CPU: what load on the machine barely changes
            print(
                f"    {label:<38} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  (CPU p50 {cpu50:6.1f} / p95 {cpu95:6.1f} ms)"
                f"  [{loadavg()}]"
            )
        began = time.perf_counter()
        size = len(client.get("/review/10/export.csv?view=all").data)
        print(
            f"    tier-2 org CSV of every item ({size // 1024} KiB): {1000 * (time.perf_counter() - began):.0f} ms  [{loadavg()}]"
        )
