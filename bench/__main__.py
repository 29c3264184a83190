"""`python -m bench [--quick] [--database-url URL] [--only a,b,c,d]`: print benchmark figures and the machine."""
from __future__ import annotations

import argparse

from . import indexes, lifecycle, simulation
from .common import machine


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file per benchmark")
    parser.add_argument("--only", default="a,b,c,d", help="which benchmarks, e.g. a,b")
    parser.add_argument("--applicants", type=int, default=None, help="N for (d) simulate")
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"machine: {machine()}")
    print(f"database: {args.database_url or 'SQLite file (temporary)'}{'  [quick]' if args.quick else ''}")
    if "a" in only:
        lifecycle.run(args.quick, args.database_url)
    if "b" in only or "c" in only:
        indexes.run_inbox(args.quick, args.database_url)
    if "c" in only:
        indexes.run_firing(args.quick, args.database_url)
    if "d" in only:
        simulation.run(args.quick, args.database_url, args.applicants)


if __name__ == "__main__":
    main()
