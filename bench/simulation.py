"""(d) `simulate` of N applicants through the whole 2020 campaign on a fresh SQLite file: wall time, rates,
peak resident memory of the process."""
from __future__ import annotations

from engine.store.simulate import simulate

from .common import fresh_database, peak_rss_mib


def run(quick: bool, url=None, applicants: int | None = None) -> None:
    n = applicants or (50 if quick else 300)
    report = simulate(fresh_database(url), n, seed=2020)
    print(f"(d) simulate {n} applicants: {report.seconds:.1f} s wall, {report.actions} actions "
          f"({report.actions / report.seconds:.1f}/s), {report.timers_fired} timers, peak RSS {peak_rss_mib():.0f} MiB")
    print("    outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())))
