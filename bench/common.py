"""Shared setup for benchmarks: a throwaway database, the machine description, timing helpers.

Every benchmark database is throwaway and private: a temporary SQLite file in a fresh directory under the
system temp dir (deleted afterwards), or, with `--database-url` pointing at PostgreSQL, a schema
`zhicheng_bench_<pid>_<n>` created for the benchmark and dropped (CASCADE) afterwards. Nothing is written
into the repository, its fixture folders or an existing schema.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from engine.db import Base, make_engine

_counter = itertools.count(1)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def loadavg() -> str:
    """The 1/5/15-minute load averages, e.g. 'load 1.52 2.10 2.33' (other work on the machine)."""
    try:
        return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load n/a"


def machine(url: str | None = None) -> str:
    mem = ""
    try:
        kb = int(
            next(
                line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
            ).split()[1]
        )
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration):
        pass
    out = (
        f"{cpu_model()}, {os.cpu_count()} CPUs{mem}; {platform.platform()}; "
        f"{platform.python_implementation()} {platform.python_version()}; SQLite {sqlite3.sqlite_version}"
    )
    if url and make_url(url).get_backend_name() == "postgresql":
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                out += "; PostgreSQL " + conn.scalar(text("SHOW server_version"))
        finally:
            engine.dispose()
    return out


@contextlib.contextmanager
def fresh_database(url: str | None = None):
    """Yield a session factory over an empty schema; remove the database (file or schema) afterwards."""
    tmpdir = schema = admin = None
    if url is None:
        tmpdir = tempfile.mkdtemp(prefix="zhicheng-bench-")
        engine = make_engine(f"sqlite:///{Path(tmpdir) / 'bench.sqlite'}")
    elif make_url(url).get_backend_name() == "postgresql":
        schema = f"zhicheng_bench_{os.getpid()}_{next(_counter)}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    else:
        raise SystemExit(
            f"unsupported --database-url {url!r}: SQLite is the default, or postgresql+psycopg://…"
        )
    try:
        Base.metadata.create_all(engine)
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    qs = statistics.quantiles(samples, n=20)
    return statistics.median(samples) * 1000, qs[18] * 1000


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
