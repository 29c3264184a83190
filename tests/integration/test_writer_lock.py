"""The SQLite writer lock (engine.db): a cross-process flock around each write transaction.

Two processes writing one file through it both finish and lose nothing; a second connection of the same
process does not wait for its own process's lock (SQLite's busy timeout decides, as before); a killed
holder frees it; PostgreSQL and in-memory SQLite never use it.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from engine import db
from engine.db import LockingConnection, make_engine, writer_lock, writes

ROOT = Path(__file__).resolve().parents[2]


def _writer(url: str, name: str, rows: int) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        for i in range(rows):
            conn.execute(text("INSERT INTO t (who, i) VALUES (:who, :i)"), {"who": name, "i": i})
            conn.execute(text("UPDATE c SET n = n + 1"))
            conn.commit()
    stats = db.lock_stats()
    assert stats.transactions >= rows and stats.timeouts == 0
    engine.dispose()


def _sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'lock.sqlite'}"


def _table(url: str):
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (who TEXT, i INTEGER)"))
        conn.execute(text("CREATE TABLE c (n INTEGER)"))
        conn.execute(text("INSERT INTO c VALUES (0)"))
    return engine


def test_two_processes_write_one_file_through_the_lock_and_lose_nothing(tmp_path):
    url = _sqlite_url(tmp_path)
    engine = _table(url)
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_writer, args=(url, name, 300)) for name in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who, count(DISTINCT i) FROM t GROUP BY who ORDER BY who")).all() == [
            ("a", 300),
            ("b", 300),
        ]
        assert conn.execute(text("SELECT n FROM c")).scalar() == 600  # no update lost
    assert (tmp_path / "lock.sqlite-writer.lock").exists()
    engine.dispose()


def test_the_lock_is_held_exactly_from_the_first_write_to_the_commit(tmp_path):
    url = _sqlite_url(tmp_path)
    engine = _table(url)
    lock = writer_lock(str(tmp_path / "lock.sqlite"))

    def free() -> bool:  # can another open file description take it?
        fd = os.open(lock.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    with engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection, LockingConnection)
        conn.execute(text("SELECT count(*) FROM t"))
        assert free()  # reads never take it
        conn.execute(text("INSERT INTO t VALUES ('x', 1)"))
        assert not free() and lock.holders == 1
        conn.execute(text("SELECT count(*) FROM t"))
        assert not free()
        conn.commit()
        assert free() and lock.holders == 0
        conn.execute(text("UPDATE c SET n = 5"))
        assert not free()
        conn.rollback()
        assert free() and lock.holders == 0
        with pytest.raises(Exception, match="no such table"):
            conn.execute(text("INSERT INTO nowhere VALUES (1)"))
        conn.rollback()
        assert free() and lock.holders == 0
    engine.dispose()


def test_a_second_connection_of_the_same_process_does_not_wait_for_its_own_lock(tmp_path, monkeypatch):
    """One thread, two connections, both writing: the second must not block on the flock its own process
    holds (that would hang forever); it goes to SQLite, whose busy timeout ends the wait with an error."""
    url = _sqlite_url(tmp_path)
    _table(url).dispose()
    monkeypatch.setattr(db, "BUSY_TIMEOUT", 0.2)  # a short busy timeout: the backstop
    engine = make_engine(url)
    with engine.connect() as first, engine.connect() as second:
        first.execute(text("INSERT INTO t VALUES ('first', 1)"))
        with pytest.raises(Exception, match="database is locked"):
            second.execute(text("INSERT INTO t VALUES ('second', 1)"))
        second.rollback()
        first.commit()
        second.execute(text("INSERT INTO t VALUES ('second', 2)"))  # free again: no holder counted twice
        second.commit()
        assert writer_lock(str(tmp_path / "lock.sqlite")).holders == 0
        assert second.execute(text("SELECT count(*) FROM t")).scalar() == 2
    engine.dispose()


def test_two_threads_of_one_process_share_the_hold(tmp_path):
    url = _sqlite_url(tmp_path)
    engine = _table(url)
    errors = []

    def run(name):
        try:
            with engine.connect() as conn:
                for i in range(100):
                    conn.execute(text("INSERT INTO t VALUES (:w, :i)"), {"w": name, "i": i})
                    conn.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert writer_lock(str(tmp_path / "lock.sqlite")).holders == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 200
    engine.dispose()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import text
    from engine.db import make_engine
    engine = make_engine(sys.argv[1])
    conn = engine.connect()
    conn.execute(text("INSERT INTO t VALUES ('killed', 1)"))
    print("holding", flush=True)
    time.sleep(60)
    """
)


def test_a_killed_holder_frees_the_lock_and_its_write_is_rolled_back(tmp_path):
    url = _sqlite_url(tmp_path)
    engine = _table(url)
    child = subprocess.Popen([sys.executable, "-c", HOLDER, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "holding"
        lock = writer_lock(str(tmp_path / "lock.sqlite"))
        fd = os.open(lock.path, os.O_RDONLY)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        with engine.connect() as conn:  # waits for the kernel to drop the dead holder's lock, then writes
            conn.execute(text("INSERT INTO t VALUES ('after', 1)"))
            conn.commit()
            assert conn.execute(text("SELECT who FROM t")).scalars().all() == ["after"]
    finally:
        if child.poll() is None:
            child.kill()
    engine.dispose()


def test_a_wait_that_times_out_falls_back_to_sqlite(tmp_path, monkeypatch):
    url = _sqlite_url(tmp_path)
    engine = _table(url)
    lock = writer_lock(str(tmp_path / "lock.sqlite"))
    fd = os.open(lock.path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another "process" (another open file description) holds it, idle
    monkeypatch.setattr(db, "BUSY_TIMEOUT", 0.1)
    try:
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES ('x', 1)"))  # the database itself is free
            conn.commit()
        assert lock.stats.timeouts == 1 and lock.holders == 0
    finally:
        os.close(fd)
    with engine.connect() as conn:  # free again once the other holder let go
        conn.execute(text("INSERT INTO t VALUES ('y', 1)"))
        conn.commit()
    assert lock.stats.timeouts == 1
    engine.dispose()


def test_no_lock_for_memory_databases_or_postgresql(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if engine.dialect.name == "sqlite":
            assert isinstance(raw, LockingConnection) and raw.writer_lock is not None
        else:
            assert not isinstance(raw, LockingConnection)
            assert not hasattr(raw, "writer_lock")
    engine.dispose()
    memory = make_engine("sqlite://")
    with memory.connect() as conn:
        conn.execute(text("CREATE TABLE m (x INTEGER)"))
        conn.execute(text("INSERT INTO m VALUES (1)"))
        assert conn.connection.dbapi_connection.writer_lock is None
        conn.commit()
    memory.dispose()


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("SELECT 1", False),
        ("  select * from t", False),
        ("PRAGMA table_info(t)", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("BEGIN", False),
        ("BEGIN IMMEDIATE", True),
        ("INSERT INTO t VALUES (1)", True),
        ("UPDATE t SET x = 1", True),
        ("DELETE FROM t", True),
        ("CREATE TABLE x (y INTEGER)", True),
        ("WITH RECURSIVE n(i) AS (SELECT 1) INSERT INTO t SELECT i FROM n", True),
        ("WITH n(i) AS (SELECT 1) SELECT i FROM n", False),
    ],
)
def test_which_statements_write(sql, expected):
    assert writes(sql) is expected


def test_checkpoints_run_after_the_lock_is_dropped_every_few_write_transactions(tmp_path, monkeypatch):
    url = _sqlite_url(tmp_path)
    engine = _table(url)
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 4)
    lock = writer_lock(str(tmp_path / "lock.sqlite"))
    seen = []
    real = LockingConnection.checkpoint

    def checkpoint(self):
        seen.append(lock.holders)  # 0: the lock is already dropped
        real(self)

    monkeypatch.setattr(LockingConnection, "checkpoint", checkpoint)
    lock.commits = 0
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        for i in range(9):
            conn.execute(text("INSERT INTO t VALUES ('x', :i)"), {"i": i})
            conn.commit()
        conn.execute(text("SELECT count(*) FROM t"))
        conn.commit()  # a read-only transaction is not counted
    assert seen == [0, 0]
    engine.dispose()
