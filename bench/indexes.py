"""(b) Inbox query p50/p95 for one tier-2 org at 1k, 10k, 100k applications, and (c) the timer sweep: with
nothing due among N waiting timers, and the firing rate of real due timers (10k due among 100k waiting in
full mode). Setup bulk-inserts index rows directly (no workflows) except for (c)'s firing, which needs real
applications. Goals (issue 4): inbox p95 <= 30 ms at 100k and flat; empty sweep <= 2 ms."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from calendars import TZ
from engine.accounts.models import Org, User
from engine.clock import FixedClock, SimulatedClock
from engine.deployment import read_sources
from engine.store import queries, services, worker
from engine.store.simulate import ensure_tree
from engine.store.tables import ApplicationRow, DeploymentRow, DueTimer, WorkItem

from .common import fresh_database, loadavg, percentiles

NOW = datetime(2020, 12, 1, 10, tzinfo=TZ)
BASE = 1_000_000  # ids of bulk rows added next to real applications (firing benchmark)


def _bulk(factory, n: int, base: int = 0):
    """n applications spread over 50 tier-2 orgs, each with a work item and a timer waiting until NOW + 8 days.

    `base` offsets every id, so the rows can sit next to real applications in the same database."""
    with factory() as s:
        s.add(
            DeploymentRow(
                id=f"{base:064d}",
                campaign_id="bench",
                process_id="p",
                spec_json="{}",
                # the real sources: inbox rows are labelled from the deployment's stage model
                sources_json=json.dumps(read_sources(), ensure_ascii=False),
                is_current=False,
                created_at=NOW,
            )
        )
        s.add(
            User(
                id=base + 1,
                username=f"bench-bulk-{base}",
                real_name="bench",
                password_hash="!",
                created_at=NOW,
            )
        )
        s.add(Org(id=base + 1, type="committee", name=f"c{base}", status="active", created_at=NOW))
        s.flush()
        s.execute(
            insert(Org),
            [
                {
                    "id": base + 10 + i,
                    "type": "district_dept",
                    "name": f"d{base}-{i}",
                    "status": "active",
                    "created_at": NOW,
                }
                for i in range(50)
            ],
        )
        if s.get_bind().dialect.name == "sqlite":
            _bulk_in_sqlite(s, n, base)
            s.commit()
            return
        for start in range(0, n, 10_000):
            rows = range(start, min(n, start + 10_000))
            s.execute(
                insert(User),
                [
                    {  # one applicant each: at most one open application per campaign
                        "id": base + 100 + i,
                        "username": f"bench-bulk-{base}-{i}",
                        "real_name": f"申报人{i}",
                        "password_hash": "!",
                        "created_at": NOW,
                    }
                    for i in rows
                ],
            )
            s.execute(
                insert(ApplicationRow),
                [
                    {
                        "id": base + i + 1,
                        "applicant_id": base + 100 + i,
                        "campaign_id": "bench",
                        "deployment_id": f"{base:064d}",
                        "unit_id": base + 1,
                        "tier3_id": base + 1,
                        "committee_id": base + 1,
                        "status": "in_review",
                        "stage": "tier2_review",
                        "waiting_org_id": base + 10 + i % 50,
                        "version": 1,
                        "applicant_name": f"申报人{i}",
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
                        "application_id": base + i + 1,
                        "stage": "tier2_review",
                        "tier": "tier2",
                        "org_id": base + 10 + i % 50,
                        "actionable_from": NOW - timedelta(days=5),
                        "deadline": NOW + timedelta(hours=i % 400),
                    }
                    for i in rows
                ],
            )
            s.execute(
                insert(DueTimer),
                [
                    {
                        "application_id": base + i + 1,
                        "name": "deadline_tier2_review",
                        "due_at": NOW + timedelta(days=8),
                        "attempts": 0,
                        "next_attempt_at": NOW + timedelta(days=8),
                    }
                    for i in rows
                ],
            )
        s.commit()


def _bulk_in_sqlite(s, n: int, base: int) -> None:
    """The same rows as the Python path, generated inside SQLite by INSERT … SELECT over a recursive CTE
    (1,000,000 applications in seconds instead of half an hour of Python on a busy machine). Timestamps are
    written in SQLAlchemy's SQLite format (naive UTC, microseconds), so comparisons match bound values."""
    from sqlalchemy import text

    def stamp(expr: str) -> str:
        return f"(datetime({expr}) || '.000000')"

    now = f"'{NOW.astimezone(UTC):%Y-%m-%d %H:%M:%S}'"
    at_now, opened = stamp(now), stamp(now + ", '-5 days'")
    deadline, due = stamp(now + ", '+' || (i % 400) || ' hours'"), stamp(now + ", '+8 days'")
    series = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {int(n)}) "
    b = int(base)
    for sql in (
        "INSERT INTO user_account (id, username, real_name, password_hash, is_operator, is_auditor, "
        "failed_logins, created_at) "
        + series
        + f"SELECT {b} + 100 + i, 'bench-bulk-{b}-' || i, '申报人' || i, "
        f"'!', 0, 0, 0, {at_now} FROM n",
        "INSERT INTO application (id, applicant_id, campaign_id, deployment_id, unit_id, tier3_id, committee_id, "
        "status, stage, waiting_org_id, version, applicant_name, created_at, updated_at, head_seq) "
        + series
        + f"SELECT {b} + i + 1, {b} + 100 + i, 'bench', '{b:064d}', {b} + 1, {b} + 1, {b} + 1, 'in_review', "
        f"'tier2_review', {b} + 10 + i % 50, 1, '申报人' || i, {at_now}, {at_now}, 0 FROM n",
        "INSERT INTO work_item (application_id, stage, tier, org_id, actionable_from, deadline) "
        + series
        + f"SELECT {b} + i + 1, 'tier2_review', 'tier2', {b} + 10 + i % 50, {opened}, {deadline} FROM n",
        "INSERT INTO due_timer (application_id, name, due_at, attempts, next_attempt_at) "
        + series
        + f"SELECT {b} + i + 1, 'deadline_tier2_review', {due}, 0, {due} FROM n",
    ):
        s.execute(text(sql))


def run_inbox(quick: bool, url=None, *, inbox: bool = True, sweep: bool = True, sizes=None) -> None:
    """`sizes`: application counts (default 1k, 10k, 100k; `--index-sizes 10000,1000000` for the 1M run).
    The rows are generated directly with bulk INSERTs of 10,000 rows per statement (users, applications,
    work items, due timers), no workflows: only the index tables are read here."""
    sizes = tuple(sizes) if sizes else (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    if inbox:
        print(
            "(b) inbox query, one tier-2 org (1/50 of all), first page of 50, soonest deadline first "
            "(200 queries per view, 50 orgs in turn; goal p95 <= 30 ms at 100k, flat)"
        )
    for n in sizes if inbox else sizes[-1:]:
        with fresh_database(url) as factory:
            began = time.perf_counter()
            _bulk(factory, n)
            print(f"    {n} applications bulk-inserted in {time.perf_counter() - began:.0f} s  [{loadavg()}]")
            clock = FixedClock(NOW)
            if inbox:
                for view in ("all", "due_soon"):
                    samples = []
                    with factory() as s:
                        for k in range(10):  # warm-up (statement cache, page cache)
                            queries.inbox(s, clock, 10 + k % 50, view=view)
                        for k in range(200):
                            began = time.perf_counter()
                            queries.inbox(s, clock, 10 + k % 50, view=view)
                            samples.append(time.perf_counter() - began)
                            s.expunge_all()  # every query hydrates its rows afresh, as a new request would
                    p50, p95 = percentiles(samples)
                    print(
                        f"    {n:>7} applications, view={view:<9} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  [{loadavg()}]"
                    )
            if sweep and n == sizes[-1]:
                worker.tick(factory, clock)  # warm-up
                samples = []
                for _ in range(100):
                    began = time.perf_counter()
                    report = worker.tick(factory, clock)
                    samples.append(time.perf_counter() - began)
                    assert not report.fired
                p50, p95 = percentiles(samples)
                print(
                    f"(c) timer sweep (worker.tick, 100 runs), nothing due among {n} waiting timers: "
                    f"p50 {p50:.2f} ms  p95 {p95:.2f} ms  (goal <= 2 ms)  [{loadavg()}]"
                )


def run_firing(quick: bool, url=None, due: int | None = None) -> None:
    n, waiting = (300, 0) if quick else (10_000, 100_000)
    n = due or n
    with fresh_database(url) as factory:
        clock = SimulatedClock(datetime(2020, 11, 17, 9, tzinfo=TZ))
        began = time.perf_counter()
        with factory() as s:
            services.deploy(s, clock, read_sources())
            tree = ensure_tree(s, clock, n, prefix="bench")
            for user_id, unit in tree.applicants:
                services.start_application(s, clock, user_id, unit)
        if waiting:
            _bulk(factory, waiting, base=BASE)
        setup = time.perf_counter() - began
        clock.set(datetime(2020, 11, 24, 9, tzinfo=TZ))  # every draft's submission deadline has passed
        began = time.perf_counter()
        report = worker.tick(factory, clock)
        seconds = time.perf_counter() - began
        assert len(report.fired) == n and not report.failed, (len(report.fired), report.failed[:3])
        print(
            f"(c) firing {len(report.fired)} due timers (each expires a draft) among {waiting} other waiting "
            f"timers: {len(report.fired) / seconds:.1f} timers/s ({seconds:.1f} s, one transaction per "
            f"application; setup {setup:.0f} s)  [{loadavg()}]"
        )
