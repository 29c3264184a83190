"""(f) The HR offices' dashboard at 100,000 applications: server time of the whole page (Flask request:
scope check, counts GROUP BY, at-risk list, lapse report, per-day history GROUP BY, three SVG charts, the
template) for a district HR office, a committee and the city HR office, and of the Excel export of the counts.

Setup bulk-inserts index rows (applications, work items, two history events per submitted application)
next to a real deployment of the 2020 campaign; no workflows. Goal (issue 15): <= 300 ms server time."""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta

from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from calendars import TZ
from engine.accounts.models import Membership, Org, User
from engine.clock import FixedClock
from engine.deployment import read_sources
from engine.store import services
from engine.store.tables import ApplicationRow, HistoryEvent, WorkItem

from .common import fresh_database, loadavg, percentiles

NOW = datetime(2020, 12, 8, 10, tzinfo=TZ)
STAGES = [  # (status, stage, share): a campaign in mid-December
    ("in_review", "tier2_review", 0.15),
    ("in_review", "tier3_review", 0.2),
    ("in_review", "committee_review", 0.25),
    ("public_notice", "public_notice", 0.05),
    ("returned", "applicant_correct", 0.05),
    ("expired", "unit_review", 0.1),
    ("expired", "applicant_submit", 0.1),
    ("accepted", "onsite_confirm", 0.1),
]
DEADLINES = {
    "tier2_review": datetime(2020, 12, 10, tzinfo=TZ),
    "tier3_review": datetime(2020, 12, 15, tzinfo=TZ),
    "committee_review": datetime(2020, 12, 18, tzinfo=TZ),
    "applicant_correct": datetime(2020, 12, 10, tzinfo=TZ),
    "onsite_confirm": datetime(2020, 12, 26, tzinfo=TZ),
}


def _populate(factory, n: int, seed: int = 15) -> dict:
    rng = random.Random(seed)
    with factory() as s:
        deployment = services.deploy(s, FixedClock(NOW), read_sources())
        orgs = []

        def org(type_, name, parent=None):
            o = Org(
                type=type_,
                name=name,
                parent_id=parent,
                status="active",
                created_at=NOW,
                contact_person="联系人",
                contact_phone="023-00000000",
            )
            s.add(o)
            s.flush()
            orgs.append(o)
            return o.id

        city = org("city_hr_office", "市职改办")
        committees = [org("committee", "工程系列评委会"), org("committee", "经济系列评委会")]
        offices = [org("district_hr_office", f"区县职改办{i}", committees[0]) for i in range(10)]
        tier2 = [org("district_dept", f"主管部门{i}", offices[i % 10]) for i in range(50)]
        units = [org("unit", f"单位{i}", tier2[i % 50]) for i in range(200)]
        pw = generate_password_hash("bench", method="pbkdf2:sha256:1000")
        viewers = {}
        for key, org_id in (("office", offices[0]), ("committee", committees[0]), ("city", city)):
            u = User(username=f"view-{key}", real_name=key, password_hash=pw, created_at=NOW)
            s.add(u)
            s.flush()
            s.add(Membership(user_id=u.id, org_id=org_id, role="admin"))
            viewers[key] = (u.username, org_id)
        s.commit()
        for start in range(0, n, 10_000):
            rows = range(start, min(n, start + 10_000))
            s.execute(
                insert(User),
                [
                    {
                        "id": 1000 + i,
                        "username": f"a{i}",
                        "real_name": f"申报人{i}",
                        "password_hash": "!",
                        "created_at": NOW,
                        "mobile": "13900000000",
                    }
                    for i in rows
                ],
            )
            apps, items, events = [], [], []
            for i in rows:
                status, stage = rng.choices([(a, b) for a, b, _ in STAGES], [w for *_, w in STAGES])[0]
                unit = units[i % 200]
                t2 = tier2[(i % 200) % 50]
                office = offices[((i % 200) % 50) % 10]  # the office above tier-2 org t2
                committee = committees[i % 2]
                waiting = {
                    "tier2_review": t2,
                    "tier3_review": office,
                    "committee_review": committee,
                    "onsite_confirm": committee,
                }.get(stage)
                apps.append(
                    {
                        "id": i + 1,
                        "applicant_id": 1000 + i,
                        "campaign_id": "cq-2020-senior",
                        "deployment_id": deployment.id,
                        "unit_id": unit,
                        "tier2_id": t2,
                        "tier3_id": office,
                        "committee_id": committee,
                        "status": status,
                        "stage": stage,
                        "waiting_org_id": waiting,
                        "responsible_org_id": unit if (status, stage) == ("expired", "unit_review") else None,
                        "deadline": DEADLINES.get(stage),
                        "version": 3,
                        "applicant_name": f"申报人{i}",
                        "series": ("senior_engineer_full", "senior_economist_full")[i % 2],
                        "created_at": NOW,
                        "updated_at": NOW - timedelta(minutes=i % 5000),
                    }
                )
                if stage in DEADLINES:
                    items.append(
                        {
                            "application_id": i + 1,
                            "stage": stage,
                            "tier": "x",
                            "org_id": waiting,
                            "actionable_from": None,
                            "deadline": DEADLINES[stage],
                        }
                    )
                submitted = datetime(2020, 11, 17 + i % 7, 10, tzinfo=TZ)
                for seq, (stage_done, st, at) in enumerate(
                    [("applicant_submit", "submitted", submitted)]
                    + (
                        [
                            (
                                "committee_review",
                                "accepted",
                                datetime(2020, 11, 30, 15, tzinfo=TZ) + timedelta(days=i % 6),
                            )
                        ]
                        if status == "accepted"
                        else []
                    ),
                    start=2,
                ):
                    events.append(
                        {
                            "application_id": i + 1,
                            "seq": seq,
                            "at": at,
                            "actor_id": 1000 + i,
                            "org_id": None,
                            "event_type": "completed",
                            "stage": stage_done,
                            "data_json": json.dumps({"status": st}),
                            "prev_hash": "0" * 64,
                            "hash": f"{i:064d}"[-64:],
                        }
                    )
            s.execute(insert(ApplicationRow), apps)
            s.execute(insert(WorkItem), items)
            s.execute(insert(HistoryEvent), events)
            s.commit()
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE"))
            s.commit()
            search_path = s.execute(text("SHOW search_path")).scalar()
        else:
            s.execute(text("ANALYZE"))
            s.commit()
            search_path = None
        url = s.get_bind().url.render_as_string(hide_password=False)
    return {"viewers": viewers, "url": url, "search_path": search_path}


def _client(info):
    from webapp import create_app

    url = info["url"]
    if info["search_path"]:
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{info['search_path']}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "ZHICHENG_CLOCK": FixedClock(NOW),
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench",
        }
    )
    return app


def run(quick: bool, url=None, runs: int = 20) -> None:
    n = 10_000 if quick else 100_000
    print(f"(f) dashboard page and Excel export at {n:,} applications (goal <= 300 ms server time)")
    with fresh_database(url) as factory:
        started = time.perf_counter()
        info = _populate(factory, n)
        print(f"    setup {time.perf_counter() - started:.0f} s; {loadavg()}")
        app = _client(info)
        for key, (username, org_id) in info["viewers"].items():
            client = app.test_client()
            client.post("/auth/login", data={"username": username, "password": "bench"})
            for label, path in (
                ("page", f"/dashboard/{org_id}/?days=3"),
                ("xlsx", f"/dashboard/{org_id}/export/counts.xlsx"),
            ):
                assert client.get(path).status_code == 200, path  # warm caches once
                samples = []
                for _ in range(runs):
                    t = time.perf_counter()
                    response = client.get(path)
                    samples.append(time.perf_counter() - t)
                    assert response.status_code == 200
                p50, p95 = percentiles(samples)
                print(
                    f"    {key:<10} {label:<5} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({runs} requests; {loadavg()})"
                )
        with app.app_context():
            from webapp.extensions import db

            db.engine.dispose()  # the schema (PostgreSQL) is dropped next
