"""The SQLite writer lock (engine.db): a cross-process flock around each write transaction.

Two processes writing one file through it both finish and lose nothing; a second connection of the same
process does not wait for its own process's lock (SQLite's busy timeout decides, as before); a killed
holder frees it; PostgreSQL and in-memory SQLite never use it.
"""

from __future__ import annotations

import dataclasses
import fcntl
import multiprocessing
import os
import signal
import sqlite3
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


@pytest.fixture
def paced(tmp_path, monkeypatch):
    """A table on a fresh SQLite file whose process asks for a checkpoint every 4 commits, counted from 0:
    (engine, this process's writer lock of the file)."""
    engine = _table(_sqlite_url(tmp_path))
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 4)
    lock = writer_lock(str(tmp_path / "lock.sqlite"))
    lock.commits = 0
    yield engine, lock
    engine.dispose()


def _commits(engine, n: int, start: int = 0) -> None:
    with engine.connect() as conn:
        for i in range(start, start + n):
            conn.execute(text("INSERT INTO t VALUES ('x', :i)"), {"i": i})
            conn.commit()


def test_checkpoints_are_requested_after_the_lock_is_dropped_every_few_write_transactions(
    tmp_path, monkeypatch, paced
):
    engine, lock = paced
    seen = []
    monkeypatch.setattr(lock.checkpointer, "request", lambda: seen.append(lock.holders))  # 0: lock dropped
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


def test_a_checkpoint_runs_on_its_own_thread_and_commit_does_not_wait_for_it(tmp_path, monkeypatch, paced):
    """The checkpoint blocks until the test lets it go; meanwhile commit() has returned, the writer lock is
    free, and the requests made during it coalesce into one more checkpoint."""
    engine, lock = paced
    checkpointer = lock.checkpointer
    lock.commits = 0
    started, release, threads = threading.Event(), threading.Event(), []
    real = db.WalCheckpointer._checkpoint

    def blocking(conn):
        threads.append(threading.get_ident())
        started.set()
        assert release.wait(30)
        return real(conn)

    monkeypatch.setattr(db.WalCheckpointer, "_checkpoint", staticmethod(blocking))
    attempts, checkpoints = checkpointer.attempts, lock.stats.checkpoints
    _commits(engine, 4)  # the 4th commit asks for a checkpoint and returns
    assert started.wait(30)
    assert threads == [checkpointer.thread.ident] and threads[0] != threading.get_ident()
    fd = os.open(lock.path, os.O_RDONLY)  # the checkpointer does not hold our flock
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)
    _commits(engine, 8, start=4)  # two more requests while it runs: they coalesce into one
    assert not checkpointer.wait_idle(0.05) and not db.wait_for_checkpoints(0.05)  # still running
    started.clear()
    release.set()
    assert db.wait_for_checkpoints(30) and checkpointer.wait_idle(0)  # both ran; nothing pending
    assert checkpointer.wait_for(attempts + 2, 30)
    assert not checkpointer.wanted.is_set() and len(threads) == 2 and threads[0] == threads[1]
    assert lock.stats.checkpoints == checkpoints + 2 and lock.stats.checkpoint_failures == 0
    engine.dispose()


def test_the_background_checkpoint_copies_the_wal_into_the_database_file(tmp_path, monkeypatch, paced):
    engine, lock = paced
    answers = []
    real = db.WalCheckpointer._checkpoint
    monkeypatch.setattr(
        db.WalCheckpointer, "_checkpoint", staticmethod(lambda c: (answers.append(real(c)), answers[-1])[1])
    )

    def rows_in_the_database_file() -> int | None:  # the main file alone, without its WAL
        copy = tmp_path / "copy.sqlite"
        copy.write_bytes((tmp_path / "lock.sqlite").read_bytes())
        conn = sqlite3.connect(copy)
        try:
            return conn.execute("SELECT count(*) FROM t").fetchone()[0]
        except sqlite3.OperationalError:  # the table itself is still only in the WAL
            return None
        finally:
            conn.close()
            copy.unlink()

    attempts = lock.checkpointer.attempts
    _commits(engine, 3)
    assert rows_in_the_database_file() in (None, 0)  # no checkpoint yet: the rows are in the WAL only
    _commits(engine, 1, start=3)
    assert lock.checkpointer.wait_for(attempts + 1, 30)
    busy, frames, copied = answers[-1]
    assert busy == 0 and frames > 0 and copied == frames
    assert rows_in_the_database_file() == 4
    engine.dispose()


def test_a_failing_checkpoint_is_counted_and_harmless(tmp_path, monkeypatch, paced, capfd):
    engine, lock = paced
    real, calls = db.WalCheckpointer._checkpoint, []

    def failing_once(conn):
        calls.append(threading.get_ident())
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real(conn)

    monkeypatch.setattr(db.WalCheckpointer, "_checkpoint", staticmethod(failing_once))
    attempts, before = lock.checkpointer.attempts, dataclasses.replace(lock.stats)
    _commits(engine, 4)
    assert lock.checkpointer.wait_for(attempts + 1, 30)
    _commits(engine, 4, start=4)  # the thread lives on; the next request checkpoints with a new connection
    assert lock.checkpointer.wait_for(attempts + 2, 30)
    after = dataclasses.replace(lock.stats).minus(before)
    assert (after.checkpoint_failures, after.checkpoints) == (1, 1) and calls[0] == calls[1]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 8
    assert "Traceback" not in capfd.readouterr().err
    engine.dispose()


def test_a_removed_database_is_a_counted_failure_and_is_not_recreated(tmp_path):
    gone = tmp_path / "gone.sqlite"
    checkpointer = writer_lock(str(gone)).checkpointer
    failures = checkpointer.stats.checkpoint_failures
    checkpointer.request()
    assert checkpointer.wait_for(1, 30)
    assert checkpointer.stats.checkpoint_failures == failures + 1
    assert not gone.exists()


def test_an_idle_checkpointer_closes_its_connection_and_ends(tmp_path, monkeypatch, paced):
    monkeypatch.setattr(db, "CHECKPOINT_IDLE", 0.05)
    engine, lock = paced
    attempts = lock.checkpointer.attempts
    _commits(engine, 4)
    thread = lock.checkpointer.thread
    assert lock.checkpointer.wait_for(attempts + 1, 30)
    thread.join(30)
    assert not thread.is_alive() and lock.checkpointer.thread is None
    engine.dispose()  # our own pooled connections: closed too, so that no descriptor of the file is left
    database = str(tmp_path / "lock.sqlite")
    assert not any(os.path.realpath(f"/proc/self/fd/{fd}") == os.path.realpath(database) for fd in _fds())
    _commits(engine, 4, start=4)  # a later request starts another thread
    assert lock.checkpointer.wait_for(attempts + 2, 30)
    engine.dispose()


def _fds() -> list[str]:
    return os.listdir("/proc/self/fd")


def _forked_child(url: str, database: str, parent_thread: int) -> None:
    """In a forked child: write through a new engine; the checkpoint runs on the child's own thread."""
    lock = writer_lock(database)
    assert lock.checkpointer.thread is None  # the parent's thread did not come along
    seen = []
    real = db.WalCheckpointer._checkpoint
    db.WalCheckpointer._checkpoint = staticmethod(
        lambda c: (seen.append(threading.get_native_id()), real(c))[1]
    )
    checkpoints = lock.stats.checkpoints
    engine = make_engine(url)
    lock.commits = 0
    _commits(engine, db.CHECKPOINT_EVERY, start=1000)
    assert lock.checkpointer.wait_for(1, 30)
    assert lock.stats.checkpoints == checkpoints + 1 and lock.stats.checkpoint_failures == 0
    assert seen == [lock.checkpointer.thread.native_id] and seen[0] not in (
        parent_thread,
        threading.get_native_id(),
    )
    engine.dispose()


def test_a_forked_child_writes_and_checkpoints_with_its_own_thread(tmp_path, monkeypatch, paced):
    engine, lock = paced
    url = _sqlite_url(tmp_path)
    attempts = lock.checkpointer.attempts
    _commits(engine, 4)  # the parent's checkpointer thread exists when the child is forked
    assert lock.checkpointer.wait_for(attempts + 1, 30)
    parent_thread = lock.checkpointer.thread.native_id  # alive: its id is not reused
    engine.dispose()  # the child must not inherit pooled connections
    child = multiprocessing.get_context("fork").Process(
        target=_forked_child, args=(url, str(tmp_path / "lock.sqlite"), parent_thread)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t WHERE i >= 1000")).scalar() == 4
    _commits(engine, 4, start=4)  # the parent's own checkpointer still works
    assert lock.checkpointer.wait_for(attempts + 2, 30)
    engine.dispose()


def test_a_long_wal_is_restarted_under_the_writer_lock_once_no_reader_needs_it(tmp_path, monkeypatch):
    """A WAL longer than WAL_RESTART_PAGES is copied and rewound while the checkpointer holds the writer
    lock; a reader still inside the WAL postpones that (counted), and the next checkpoint does it. The
    next write transaction starts the WAL afresh and cuts the file back to WAL_SIZE_LIMIT."""
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(db, "WAL_RESTART_PAGES", 1)
    monkeypatch.setattr(db, "WAL_SIZE_LIMIT", 0)  # read when a connection opens: set before the engine
    database = tmp_path / "lock.sqlite"
    wal = tmp_path / "lock.sqlite-wal"
    engine = _table(_sqlite_url(tmp_path))
    lock = writer_lock(str(database))
    lock.commits = 0
    held, real = [], db.WalCheckpointer._checkpoint

    def watched(conn, mode="PASSIVE"):
        if mode == "RESTART":  # is the flock ours? another descriptor cannot take it
            fd = os.open(lock.path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(False)
            except BlockingIOError:
                held.append(lock.holders > 0)
            finally:
                os.close(fd)
        return real(conn, mode)

    monkeypatch.setattr(db.WalCheckpointer, "_checkpoint", staticmethod(watched))
    before = dataclasses.replace(lock.stats)
    reader = sqlite3.connect(database, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)  # a snapshot inside the WAL
    attempts = lock.checkpointer.attempts
    _commits(engine, 4)
    assert lock.checkpointer.wait_for(attempts + 1, 30)
    after = lock.stats.minus(before)
    assert (after.wal_restarts, after.wal_restart_busy) == (0, 1) and held == [True]
    reader.execute("COMMIT")
    reader.close()
    grown = wal.stat().st_size
    _commits(engine, 4, start=4)
    assert lock.checkpointer.wait_for(attempts + 2, 30)
    after = lock.stats.minus(before)
    assert (after.wal_restarts, after.wal_restart_busy) == (1, 1) and held == [True, True]
    assert lock.holders == 0  # released
    _commits(engine, 1, start=8)  # this writer rewinds the WAL and cuts the file back
    assert wal.stat().st_size < grown
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 9
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == 0
    engine.dispose()


def _steady_writer(url: str, name: str, rows: int, restart_pages: int, out) -> None:
    """Write `rows` transactions while the other process does the same; report the largest WAL file seen
    and this process's restarts (restart_pages: WAL_RESTART_PAGES in this process)."""
    db.CHECKPOINT_EVERY, db.WAL_RESTART_PAGES = 4, restart_pages
    engine = make_engine(url)
    wal = url.removeprefix("sqlite:///") + "-wal"
    largest = 0
    with engine.connect() as conn:
        for i in range(rows):
            conn.execute(text("INSERT INTO t (who, i) VALUES (:who, :i)"), {"who": name, "i": i})
            conn.execute(text("UPDATE c SET n = n + 1"))
            conn.commit()
            largest = max(largest, os.path.getsize(wal))
    assert db.wait_for_checkpoints(30)
    out.put((name, largest, db.lock_stats().wal_restarts))
    engine.dispose()


def test_two_steady_writers_keep_the_wal_short(tmp_path):
    """Two processes that never pause: a PASSIVE checkpoint never finds the WAL fully copied when a writer
    begins, so without restarts the WAL file grows with every transaction (9 GB in two minutes of a
    2-worker simulate); with them it stays near WAL_RESTART_PAGES."""
    url = _sqlite_url(tmp_path)
    engine = _table(url)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    procs = [context.Process(target=_steady_writer, args=(url, name, 10_000, 64, out)) for name in "ab"]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert all(restarts > 0 for _, _, restarts in results)
    # Measured on 2 loaded cores: 21 MB without restarts (SQLite's own rewinds now and then), 1.4-4.8 MB
    # with them; the WAL's pages are 4 KiB, a restart is asked for past 64 of them.
    assert max(largest for _, largest, _ in results) < 12 * 2**20
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM c")).scalar() == 20_000  # nothing lost meanwhile
    engine.dispose()


def test_without_the_writer_lock_sqlite_checkpoints_by_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHICHENG_SQLITE_WRITER_LOCK", "0")
    engine = make_engine(_sqlite_url(tmp_path))
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert not isinstance(raw, LockingConnection)
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    engine.dispose()
