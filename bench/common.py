"""Shared setup for benchmarks: a throwaway database, the machine description, timing helpers."""
from __future__ import annotations

import os
import platform
import resource
import statistics
import tempfile
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from engine.db import Base, make_engine


def machine() -> str:
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return f"{platform.platform()}, {platform.python_implementation()} {platform.python_version()}, " \
           f"{os.cpu_count()} CPUs{mem}"


def fresh_database(url: str | None = None):
    """A session factory over an empty schema (a temporary SQLite file unless `url` is given)."""
    if url is None:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='zhicheng-bench-')) / 'bench.sqlite'}"
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    qs = statistics.quantiles(samples, n=20)
    return statistics.median(samples) * 1000, qs[18] * 1000


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
