"""(e) Audit replay rate (issue 6). Simulates a campaign of N applicants (300 in full mode, 50 with
--quick) on a fresh database, then measures

* verification: applications verified per second by `engine.audit.verify.verify_application` (hash chain,
  replay on the pinned deployment, comparison with the stored state, status and work items), one session,
  every application of the campaign in id order; and
* replay in memory: history events replayed per second by `engine.audit.replay.replay`, with every
  application's recorded events loaded from the database beforehand (so no I/O is timed).

Every application must verify and replay without a divergence, otherwise the benchmark fails."""

from __future__ import annotations

import time

from engine.audit.replay import replay
from engine.audit.verify import all_application_ids, recorded_events, verify_application
from engine.store.services import deployment_for
from engine.store.simulate import simulate
from engine.store.tables import ApplicationRow

from .common import fresh_database, loadavg


def run(quick: bool, url=None, applicants: int | None = None) -> None:
    n = applicants or (50 if quick else 300)
    with fresh_database(url) as factory:
        sim = simulate(factory, n, seed=2020)
        with factory() as s:
            ids = all_application_ids(s)
            began = time.perf_counter()
            results = [verify_application(s, app_id) for app_id in ids]
            verify_s = time.perf_counter() - began
        bad = [r for r in results if not r.ok]
        assert not bad, f"{len(bad)} applications did not verify, e.g. {bad[0]}"
        events = sum(r.events for r in results)
        print(
            f"(e) verify_application over a simulated campaign of {len(ids)} applications ({events} events, "
            f"simulated in {sim.seconds:.0f} s): {len(ids) / verify_s:.1f} applications/s, "
            f"{events / verify_s:.0f} events/s ({verify_s:.1f} s)  [{loadavg()}]"
        )
        with factory() as s:
            histories = [
                (deployment_for(s, s.get(ApplicationRow, app_id).deployment_id), recorded_events(s, app_id))
                for app_id in ids
            ]
    began = time.perf_counter()
    for deployment, history in histories:
        app, divergence = replay(deployment, history)
        assert divergence is None and app is not None, divergence
    replay_s = time.perf_counter() - began
    total = sum(len(h) for _, h in histories)
    print(
        f"(e) replay in memory: {total} events of {len(histories)} applications in {replay_s:.1f} s: "
        f"{total / replay_s:.0f} events/s, {len(histories) / replay_s:.1f} applications/s  [{loadavg()}]"
    )
