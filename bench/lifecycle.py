"""(a) One application's whole straight path (start → 7 tasks → confirmed, public-notice timer fired):
persisted through the store (one unit of work per action; SQLite file or --database-url) vs raw in-memory SpiffWorkflow runtime
on the same BPMN, in the same run (interleaved application by application); prints both rates and
their ratio (goal: persisted / in-memory >= 0.8), by wall clock and by this process's CPU time."""

from __future__ import annotations

import statistics
import time
from datetime import datetime

from sqlalchemy import select

from calendars import TZ
from engine.clock import SimulatedClock
from engine.db import wait_for_checkpoints
from engine.deployment import read_sources
from engine.runtime import Actor, Application
from engine.store import services, worker
from engine.store.simulate import CONFIRM, OPINION, ensure_tree
from engine.store.tables import ApplicationRow
from engine.store.uow import connections

from .common import fresh_database, loadavg

STEPS = [
    ((11, 20), "applicant_submit"),
    ((11, 26), "unit_review"),
    ((12, 4), "unit_report"),
    ((12, 8), "tier2_review"),
    ((12, 10), "tier3_review"),
    ((12, 15), "committee_review"),
    ((12, 23), "onsite_confirm"),
]


def _t(md):
    return datetime(2020, *md, 10, tzinfo=TZ)


def _form(stage, declaration):
    return (
        declaration
        if stage == "applicant_submit"
        else CONFIRM
        if stage == "onsite_confirm"
        else {"decision": "approve", "opinion": OPINION}
    )


STAGE_ACTOR = {
    "unit_review": "unit",
    "unit_report": "unit",
    "tier2_review": "tier2",
    "tier3_review": "tier3",
    "committee_review": "committee",
}


def _actor(stage, user_id, tree, actors):
    if stage == "applicant_submit":
        return Actor(user_id)
    return tree.desk if stage == "onsite_confirm" else actors[STAGE_ACTOR[stage]]


def run(quick: bool, url=None) -> None:
    import yaml

    from engine.paths import bpmn_dir

    n = 10 if quick else 50
    declaration = yaml.safe_load((bpmn_dir() / "scenarios/data/declaration.yaml").read_text(encoding="utf-8"))
    with fresh_database(url) as factory:
        clock0 = SimulatedClock(_t((11, 17)))
        with factory() as s:
            services.deploy(s, clock0, read_sources())
            tree = ensure_tree(s, clock0, n, prefix="bench")
            deployment = services.current_deployment(s)
        unit = tree.units[0]
        with factory() as s:
            from engine.accounts.tiers import review_chain

            chain = review_chain(s, unit)
        actors = {
            "unit": tree.staff[chain["unit"]],
            "tier2": tree.staff.get(chain["tier2"]),
            "tier3": tree.staff[chain["tier3"]],
            "committee": tree.staff[chain["committee"]],
        }
        # The store on a Core connection per action, as the timer worker and simulate run it (a web request
        # hands it the request's Session instead: the same statements, plus the ORM's transaction bookkeeping)
        connect = connections(factory)
        # Interleaved, one application at a time (in memory, then persisted), so that a change in the
        # machine's load during the run affects both rates alike.
        t_memory = t_persisted = cpu_memory = cpu_persisted = 0.0
        per_app_memory, per_app_persisted = [], []  # CPU seconds of each application, each side
        for user_id, _ in tree.applicants[:n]:
            # the persisted side's background WAL checkpoint (engine/db.py) runs on another thread and is
            # counted in this process's CPU time: let it finish before the in-memory side is timed
            wait_for_checkpoints()
            began, began_cpu = time.perf_counter(), time.process_time()
            clock = SimulatedClock(_t((11, 17)))
            app = Application.start(deployment, clock, applicant_id=user_id, chain=chain)
            for md, stage in STEPS:
                clock.set(_t(md))
                app.complete(stage, _actor(stage, user_id, tree, actors), _form(stage, declaration))
            assert app.status().status == "confirmed", app.status()
            t_memory += time.perf_counter() - began
            cpu_memory += time.process_time() - began_cpu
            per_app_memory.append(time.process_time() - began_cpu)

            began, began_cpu = time.perf_counter(), time.process_time()
            clock = SimulatedClock(_t((11, 17)))
            with connect() as s:
                app_id = services.start_application(s, clock, user_id, unit)
            for md, stage in STEPS:
                clock.set(_t(md))
                if stage == "unit_report":
                    worker.tick(factory, clock)  # fires this application's public-notice timer
                with connect() as s:
                    services.perform_task(
                        s,
                        clock,
                        app_id,
                        stage,
                        _actor(stage, user_id, tree, actors),
                        _form(stage, declaration),
                    )
            t_persisted += time.perf_counter() - began
            cpu_persisted += time.process_time() - began_cpu
            per_app_persisted.append(time.process_time() - began_cpu)
        with factory() as s:
            statuses = set(s.scalars(select(ApplicationRow.status)))
        assert statuses == {"confirmed"}, statuses
        memory, persisted = n / t_memory, n / t_persisted
        print(f"(a) lifecycle, {n} applications, straight path (8 actions + 1 timer each)")
        print(f"    in-memory SpiffWorkflow: {memory:8.1f} applications/s")
        print(f"    persisted (store):       {persisted:8.1f} applications/s")
        print(f"    ratio persisted/in-memory: {persisted / memory:.2f}   (goal >= 0.8)  [{loadavg()}]")
        # CPU time of this process: what other work on the machine changes least (compare runs under load)
        print(
            f"    CPU time: in-memory {n / cpu_memory:.1f}/s, persisted {n / cpu_persisted:.1f}/s, "
            f"ratio {cpu_memory / cpu_persisted:.2f}"
        )
        # The median application of each side: a garbage collection of the whole heap (tens of ms, landing on
        # whichever side happens to allocate then) or a burst of other load moves the sums, not the medians.
        m_memory, m_persisted = statistics.median(per_app_memory), statistics.median(per_app_persisted)
        print(
            f"    median CPU per application: in-memory {m_memory * 1e3:.2f} ms, persisted "
            f"{m_persisted * 1e3:.2f} ms, ratio {m_memory / m_persisted:.2f}"
        )
