"""`python -m bench [--quick] [--database-url URL] [--only a,b,c,d,e] [--applicants N[,N…]] [--firing N]`: print benchmark
figures, the machine and the load average with each figure.

(a) lifecycle persisted vs in memory, (b) inbox p50/p95, (c) timer sweep and firing, (d) simulate,
(e) audit verify/replay rate, (f) dashboard page at 100k, (g) the reviewer's desk pages at 100k. Databases are
throwaway (temporary SQLite files, or a private PostgreSQL
schema dropped afterwards); benchmarks live outside the test paths and never run in the test suite."""

from __future__ import annotations

import argparse

from . import dashboard, desk, indexes, lifecycle, replay, simulation
from .common import loadavg, machine


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a temporary SQLite file per benchmark; postgresql+psycopg://… runs in a "
        "private schema that is dropped afterwards",
    )
    parser.add_argument("--only", default="a,b,c,d,e", help="which benchmarks, e.g. a,b")
    parser.add_argument("--applicants", default=None, help="N for (d) simulate; several as 300,1000")
    parser.add_argument(
        "--index-sizes", default=None, help="application counts for (b)/(c), e.g. 10000,1000000 (bulk rows)"
    )
    parser.add_argument("--firing", type=int, default=None, help="due timers for (c) firing (default 10000)")
    parser.add_argument("--replay-applicants", type=int, default=None, help="campaign size for (e)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if unknown := only - set("abcdefg"):
        parser.error(f"unknown benchmark(s) {','.join(sorted(unknown))}")
    print(f"machine: {machine(args.database_url)}")
    print(
        f"database: {args.database_url or 'SQLite file (temporary)'}{'  [quick]' if args.quick else ''}; "
        f"{loadavg()} at start"
    )
    if "a" in only:
        lifecycle.run(args.quick, args.database_url)
    if "b" in only or "c" in only:
        sizes = [int(n) for n in args.index_sizes.split(",")] if args.index_sizes else None
        indexes.run_inbox(args.quick, args.database_url, inbox="b" in only, sweep="c" in only, sizes=sizes)
    if "c" in only and not args.index_sizes:
        indexes.run_firing(args.quick, args.database_url, args.firing)
    if "e" in only:
        replay.run(args.quick, args.database_url, args.replay_applicants)
    if "f" in only:
        dashboard.run(args.quick, args.database_url)
    if "g" in only:
        desk.run(args.quick, args.database_url)
    if "d" in only:
        simulation.run(args.quick, args.database_url, args.applicants)


if __name__ == "__main__":
    main()
