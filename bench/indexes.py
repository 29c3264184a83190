"""(b) Inbox query p50/p95 for one tier-2 org at 1k, 10k, 100k applications, and (c) the timer sweep: with
nothing due among N waiting timers, and the firing rate of real due timers. Setup bulk-inserts index rows
directly (no workflows) except for (c)'s firing, which needs real applications."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import insert

from calendars import TZ
from engine.accounts.models import Org, User
from engine.clock import FixedClock, SimulatedClock
from engine.deployment import read_sources
from engine.store import queries, services, worker
from engine.store.simulate import ensure_tree
from engine.store.tables import ApplicationRow, DeploymentRow, DueTimer, WorkItem

from .common import fresh_database, percentiles

NOW = datetime(2020, 12, 1, 10, tzinfo=TZ)


def _bulk(factory, n: int):
    """n applications spread over 50 tier-2 orgs, each with a work item and a waiting timer."""
    with factory() as s:
        s.add(DeploymentRow(id="x" * 64, campaign_id="bench", process_id="p", spec_json="{}", sources_json="{}",
                            is_current=False, created_at=NOW))
        s.add(User(id=1, username="bench", real_name="bench", password_hash="!", created_at=NOW))
        s.add(Org(id=1, type="committee", name="c", status="active", created_at=NOW))
        s.flush()
        s.execute(insert(Org), [{"id": 10 + i, "type": "district_dept", "name": f"d{i}", "status": "active",
                                 "created_at": NOW} for i in range(50)])
        for start in range(0, n, 10_000):
            rows = range(start, min(n, start + 10_000))
            s.execute(insert(ApplicationRow), [{
                "id": i + 1, "applicant_id": 1, "campaign_id": "bench", "deployment_id": "x" * 64, "unit_id": 1,
                "tier3_id": 1, "committee_id": 1, "status": "in_review", "stage": "tier2_review",
                "waiting_org_id": 10 + i % 50, "version": 1, "applicant_name": f"申报人{i}",
                "created_at": NOW, "updated_at": NOW} for i in rows])
            s.execute(insert(WorkItem), [{
                "application_id": i + 1, "stage": "tier2_review", "tier": "tier2", "org_id": 10 + i % 50,
                "actionable_from": NOW - timedelta(days=5), "deadline": NOW + timedelta(hours=i % 400)}
                for i in rows])
            s.execute(insert(DueTimer), [{
                "application_id": i + 1, "name": "deadline_tier2_review", "due_at": NOW + timedelta(days=8),
                "attempts": 0, "next_attempt_at": NOW + timedelta(days=8)} for i in rows])
        s.commit()


def run_inbox(quick: bool, url=None) -> None:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    print("(b) inbox query, one tier-2 org (1/50 of all), first page of 50, soonest deadline first")
    for n in sizes:
        factory = fresh_database(url)
        _bulk(factory, n)
        clock = FixedClock(NOW)
        for view in ("all", "due_soon"):
            samples = []
            with factory() as s:
                for k in range(200):
                    began = time.perf_counter()
                    queries.inbox(s, clock, 10 + k % 50, view=view)
                    samples.append(time.perf_counter() - began)
            p50, p95 = percentiles(samples)
            print(f"    {n:>7} applications, view={view:<9} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
        if n == sizes[-1]:
            samples = []
            for _ in range(20):
                began = time.perf_counter()
                worker.tick(factory, clock)
                samples.append(time.perf_counter() - began)
            p50, p95 = percentiles(samples)
            print(f"(c) timer sweep, nothing due among {n} waiting timers: p50 {p50:.2f} ms  p95 {p95:.2f} ms")


def run_firing(quick: bool, url=None) -> None:
    n = 300 if quick else 2_000
    factory = fresh_database(url)
    clock = SimulatedClock(datetime(2020, 11, 17, 9, tzinfo=TZ))
    with factory() as s:
        services.deploy(s, clock, read_sources())
        tree = ensure_tree(s, clock, n, prefix="bench")
        for user_id, unit in tree.applicants:
            services.start_application(s, clock, user_id, unit)
    clock.set(datetime(2020, 11, 24, 9, tzinfo=TZ))
    began = time.perf_counter()
    report = worker.tick(factory, clock)
    seconds = time.perf_counter() - began
    print(f"(c) firing {len(report.fired)} due timers (each expires a draft): {len(report.fired) / seconds:.1f} "
          f"timers/s ({seconds:.1f} s, one transaction per application)")
