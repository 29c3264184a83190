"""(d) `simulate` of N applicants through the whole 2020 campaign on a fresh database: wall time, rates, and
the peak resident memory of the process (`ru_maxrss`; run `--only d` alone so that no other benchmark's
peak is included). Goal (issue 4): 100k applicants in under 30 minutes on 2 cores. Several N
(`--applicants 300,1000`) show how the time grows, for an explicit extrapolation to 100k."""

from __future__ import annotations

from engine.store.simulate import simulate

from .common import fresh_database, loadavg, peak_rss_mib


def run(quick: bool, url=None, applicants: str | int | None = None) -> None:
    sizes = [int(a) for a in str(applicants).split(",")] if applicants else [50 if quick else 1000]
    results = []
    for n in sizes:
        with fresh_database(url) as factory:
            report = simulate(factory, n, seed=2020)
        results.append((n, report.seconds))
        print(
            f"(d) simulate {n} applicants: {report.seconds:.1f} s wall, {report.actions} actions "
            f"({report.actions / report.seconds:.1f}/s), {report.timers_fired} timers, "
            f"{n / report.seconds:.2f} applicants/s, peak RSS so far {peak_rss_mib():.0f} MiB  [{loadavg()}]"
        )
        print("    outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())))
    n, seconds = results[-1]
    print(
        f"    linear extrapolation from {n}: 100000 applicants ≈ {seconds * 100_000 / n / 60:.0f} min "
        f"(goal < 30 min)"
    )
    if len(results) > 1:
        (n0, s0), (n1, s1) = results[0], results[-1]
        growth = (s1 / n1) / (s0 / n0)
        print(f"    time per applicant at {n1} is {growth:.2f}x that at {n0} (1.00 = linear)")
