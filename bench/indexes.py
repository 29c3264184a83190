"""(b) Inbox query p50/p95 and (c) the timer sweep at 1k … 1,000,000 applications, and (c) the firing rate of
real due timers (10k due among 100k waiting in full mode).

Goals: issue 4, inbox p95 <= 30 ms at 100k, flat; issue 14, inbox p95 <= 10 ms and idle sweep p95 <= 2 ms at
1,000,000 applications, flat from 10k.

How the rows are generated (`_bulk`; no workflows: inboxes and sweeps read only the index tables): one
`INSERT … SELECT` per table over a generated series of n integers — a recursive CTE on SQLite
(`WITH RECURSIVE n(i) …`), `generate_series` on PostgreSQL — so the database writes every row itself
(1,000,000 applications in about two minutes on SQLite instead of half an hour of Python executemany). The
secondary indexes of the four bulk tables are dropped first and rebuilt after the inserts (a sorted build);
PostgreSQL then gets a VACUUM ANALYZE, as autovacuum would give it; SQLite gets none (the application never runs one).
Timestamps are written in the format the columns store (naive UTC), so comparisons match bound values.

The generated city (fixed shape, independent of n): 2 committees (70 % / 30 % of applications), 50 tier-3
orgs (40 district HR offices, 10 municipal departments), 400 tier-2 orgs (10 per district), 5,000 units (one
in five under a municipal department, so without tier 2). Application i belongs to unit (i × 7919) mod 5000 and
waits at one stage, i mod 20: unit_review 10 %, unit_report 15 %, tier2_review 30 % (tier3_review for a
municipal unit), tier3_review 25 %, committee_review 15 %, onsite_confirm 5 % (not open yet: its window opens
in 22 days). Its work item sits at that stage's org of its chain, with the stage's deadline plus 0–2 days
(return cycles); one deadline timer per application waits at that deadline, so nothing is due: the sweep is
idle. At 1,000,000 applications a typical tier-2 org holds ≈ 600 items, a district HR office ≈ 5,000, the
larger committee ≈ 140,000.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from sqlalchemy import insert, text

from calendars import TZ
from engine.accounts.models import Org, User
from engine.clock import FixedClock, SimulatedClock
from engine.deployment import read_sources
from engine.store import desk, queries, services, worker
from engine.store.simulate import ensure_tree
from engine.store.tables import ApplicationRow, DeploymentRow, DueTimer, WorkItem

from .common import fresh_database, loadavg, percentiles

NOW = datetime(2020, 12, 1, 10, tzinfo=TZ)
BASE = 1_000_000  # ids of bulk rows added next to real applications (firing benchmark)
UNITS, TIER2, DISTRICTS, MUNICIPAL = 5_000, 400, 40, 10
# i mod 20 -> (stage, tier, deadline in days from NOW, opens in days from NOW)
STAGES = (
    [("unit_review", "unit", 3, -14)] * 2
    + [("unit_report", "unit", 3, -1)] * 3
    + [("tier2_review", "tier2", 8, -6)] * 6
    + [("tier3_review", "tier3", 13, -5)] * 5
    + [("committee_review", "committee", 16, -1)] * 3
    + [("onsite_confirm", "committee", 24, 22)]
)


def _orgs(base: int) -> list[dict]:
    """The city's orgs; ids are arithmetic so SQL can derive each application's chain from its unit."""
    row = {"status": "active", "created_at": NOW}
    orgs = [{"id": base + 1 + c, "type": "committee", "name": f"评委会{base}-{c}", **row} for c in range(2)]
    orgs += [
        {
            "id": base + 100 + t,
            "type": "district_hr_office" if t < DISTRICTS else "municipal_dept",
            "name": f"三级{base}-{t}",
            "parent_id": base + 1,
            **row,
        }
        for t in range(DISTRICTS + MUNICIPAL)
    ]
    orgs += [
        {
            "id": base + 1000 + k,
            "type": "district_dept",
            "name": f"主管部门{base}-{k}",
            "parent_id": base + 100 + k % DISTRICTS,
            **row,
        }
        for k in range(TIER2)
    ]
    orgs += [
        {
            "id": base + 10_000 + u,
            "type": "unit",
            "name": f"单位{base}-{u}",
            "parent_id": base + 100 + DISTRICTS + u // 5 % MUNICIPAL
            if u % 5 == 4
            else base + 1000 + (u // 5 * 4 + u % 5) % TIER2,
            **row,
        }
        for u in range(UNITS)
    ]
    return orgs


def sample_orgs(base: int = 0) -> dict[str, int]:
    """Orgs whose inboxes the benchmark reads: a typical tier-2 org, a district HR office, the larger committee."""
    return {"tier-2 org": base + 1000 + 7, "district HR office": base + 100 + 3, "committee (70 %)": base + 1}


def _sql(dialect: str, n: int, base: int) -> list[str]:
    """The INSERT … SELECT statements generating users, applications, work items and due timers."""
    day = f"{datetime(2020, 12, 1, tzinfo=TZ).astimezone(UTC):%Y-%m-%d %H:%M:%S}"  # NOW's day, 00:00 local
    if dialect == "sqlite":
        series = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {int(n)}), "

        def at(hours: str) -> str:
            return f"(datetime('{day}', printf('%+d hours', {hours})) || '.000000')"

        numbers = "n"
    else:
        series = "WITH "

        def at(hours: str) -> str:
            return f"(TIMESTAMP '{day}' + ({hours}) * INTERVAL '1 hour')"

        numbers = f"generate_series(0::bigint, {int(n) - 1}) AS n(i)"  # i × 7919 needs 64 bits

    b = int(base)
    muni = "(u % 5 = 4)"

    def case(pick) -> str:
        return "CASE s " + " ".join(f"WHEN {k} THEN {pick(*v)}" for k, v in enumerate(STAGES)) + " END"

    # the k-th unit not under a municipal department belongs to tier-2 org k mod 400, in district k mod 40
    tier2 = f"CASE WHEN {muni} THEN NULL ELSE {b} + 1000 + (u / 5 * 4 + u % 5) % {TIER2} END"
    tier3 = (
        f"CASE WHEN {muni} THEN {b} + {100 + DISTRICTS} + u / 5 % {MUNICIPAL} "
        f"ELSE {b} + 100 + (u / 5 * 4 + u % 5) % {DISTRICTS} END"
    )
    committee = f"{b} + 1 + CASE WHEN h / 256 % 10 < 7 THEN 0 ELSE 1 END"
    org_of = {"unit": f"{b} + 10000 + u", "tier2": tier2, "tier3": tier3, "committee": committee}
    # a municipal unit's application skips tier 2: it waits at tier 3 instead
    stage = f"CASE WHEN {muni} AND s BETWEEN 5 AND 10 THEN 'tier3_review' ELSE {case(lambda st, *_: repr(st))} END"
    tier = f"CASE WHEN {muni} AND s BETWEEN 5 AND 10 THEN 'tier3' ELSE {case(lambda _, t, *__: repr(t))} END"
    org = f"CASE WHEN {muni} AND s BETWEEN 5 AND 10 THEN {tier3} ELSE {case(lambda _, t, *__: org_of[t])} END"
    deadline = at(f"24 * ({case(lambda _, __, d, ___: d)} + 1 + i % 3)")  # 24:00 of the last day
    opens = at(f"24 * {case(lambda *v: v[3])}")
    # u: the unit; h: a multiplicative hash of i, so the stage and committee do not follow the unit's residues
    hashed = f"SELECT i, (i * 7919) % {UNITS} AS u, (i * 2654435761) % 4294967296 AS h FROM {numbers}"
    rows = f"{series}a0 AS ({hashed}), a AS (SELECT i, u, h, h / 65536 % 20 AS s FROM a0) "
    stamp = at("0")
    return [
        f"{series}a AS (SELECT i FROM {numbers}) "
        "INSERT INTO user_account (id, username, real_name, password_hash, is_operator, is_auditor, created_at) "
        f"SELECT {b} + 100 + i, 'bench-bulk-{b}-' || i, '申报人' || i, '!', FALSE, FALSE, {stamp} FROM a",
        rows + "INSERT INTO application (id, applicant_id, campaign_id, deployment_id, unit_id, tier2_id, "
        "tier3_id, committee_id, status, stage, waiting_org_id, deadline, actionable_from, version, "
        "applicant_name, series, created_at, updated_at, head_seq) "
        f"SELECT {b} + i + 1, {b} + 100 + i, 'bench', '{b:064d}', {b} + 10000 + u, {tier2}, {tier3}, "
        f"{committee}, 'in_review', {stage}, {org}, {deadline}, {opens}, 1, '申报人' || i, "
        f"'senior_engineer_full', {stamp}, {stamp}, 0 FROM a",
        rows + "INSERT INTO work_item (application_id, stage, tier, org_id, actionable_from, deadline) "
        f"SELECT {b} + i + 1, {stage}, {tier}, {org}, {opens}, {deadline} FROM a",
        rows + "INSERT INTO due_timer (application_id, name, due_at, attempts, next_attempt_at) "
        f"SELECT {b} + i + 1, 'deadline_' || {stage}, {deadline}, 0, {deadline} FROM a",
    ]


def _bulk(factory, n: int, base: int = 0) -> None:
    """n applications over the generated city (module docstring), each with a work item and an idle timer.

    `base` offsets every id, so the rows can sit next to real applications in the same database."""
    tables = [t.__table__ for t in (User, ApplicationRow, WorkItem, DueTimer)]
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
        s.flush()
        s.execute(insert(Org), _orgs(base))
        conn = s.connection()
        dialect = conn.dialect.name
        indexes = [ix for t in tables for ix in t.indexes]
        for ix in indexes:  # rebuilt after the inserts: a sorted build instead of n random inserts each
            ix.drop(conn)
        for sql in _sql(dialect, n, base):
            conn.execute(text(sql))
        for ix in indexes:
            ix.create(conn)
        s.commit()
    if dialect == "postgresql":  # what autovacuum gives a loaded table: statistics and a visibility map
        names = ", ".join(t.name for t in tables)  # this schema's bulk tables only (search_path)
        with factory.kw["bind"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {names}"))


def run_inbox(quick: bool, url=None, *, inbox: bool = True, sweep: bool = True, sizes=None) -> None:
    """`sizes`: application counts (default 1k, 10k, 100k; `--index-sizes 10000,100000,1000000` for issue 14).
    Rows are generated inside the database (module docstring). Per size and org: the first page of 50, soonest
    deadline first, for the views `all` and `due_soon` (200 queries each, every query hydrating its rows afresh),
    and the org's tab counts (desk.counts); then the idle sweep (100 worker.tick runs, nothing due)."""
    sizes = tuple(sizes) if sizes else (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    if inbox:
        print(
            "(b) inbox query, first page of 50, soonest deadline first, for a typical tier-2 org, a district HR "
            "office and the larger committee (200 queries per view; goal p95 <= 10 ms at 1M, flat from 10k)"
        )
    for n in sizes:
        with fresh_database(url) as factory:
            began, cpu = time.perf_counter(), time.process_time()
            _bulk(factory, n)
            print(
                f"    {n} applications generated in {time.perf_counter() - began:.0f} s "
                f"(this process's CPU {time.process_time() - cpu:.0f} s; the database's own work is the rest)"
                f"  [{loadavg()}]"
            )
            clock = FixedClock(NOW)
            if inbox:
                _inbox_figures(factory, clock, n)
            if sweep:
                worker.tick(factory, clock)  # warm-up
                samples, cpu = [], []
                for _ in range(100):
                    began, began_cpu = time.perf_counter(), time.process_time()
                    report = worker.tick(factory, clock)
                    samples.append(time.perf_counter() - began)
                    cpu.append(time.process_time() - began_cpu)
                    assert not report.fired
                p50, p95 = percentiles(samples)
                c50, c95 = percentiles(cpu)
                print(
                    f"(c) idle sweep (worker.tick, 100 runs), nothing due among {n} waiting timers: "
                    f"p50 {p50:.2f} ms  p95 {p95:.2f} ms  (CPU p50 {c50:.2f} / p95 {c95:.2f} ms; goal p95 <= 2 ms)"
                    f"  [{loadavg()}]"
                )


def _inbox_figures(factory, clock, n: int) -> None:
    with factory() as s:
        for label, org in sample_orgs().items():
            tally = desk.counts(s, clock, org)
            for view in ("all", "due_soon"):
                samples, cpu = [], []
                for k in range(210):  # the first 10: warm-up (statement cache, page cache)
                    began, began_cpu = time.perf_counter(), time.process_time()
                    rows = queries.inbox(s, clock, org, view=view)
                    if k >= 10:
                        samples.append(time.perf_counter() - began)
                        cpu.append(time.process_time() - began_cpu)
                    s.expunge_all()  # every query hydrates its rows afresh, as a new request would
                assert rows or not tally[view]
                p50, p95 = percentiles(samples)
                c50, c95 = percentiles(cpu)
                print(
                    f"    {n:>7} applications, {label:<19} ({tally['all']:>6} items) view={view:<9} "
                    f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  (CPU p50 {c50:5.2f} / p95 {c95:5.2f})  [{loadavg()}]"
                )
            samples = []
            for _ in range(20):
                began = time.process_time()
                desk.counts(s, clock, org)
                samples.append(time.process_time() - began)
            print(f"    {'':>7}   its tab counts (desk.counts): CPU p50 {percentiles(samples)[0]:.2f} ms")


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
