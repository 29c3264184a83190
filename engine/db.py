"""SQLAlchemy metadata shared by every engine table; webapp binds Flask-SQLAlchemy to it.

SQLite files also get a cross-process **writer lock** (`WriterLock`, engine/store/README.md "The SQLite
writer lock"): a connection takes an exclusive `flock` on `<database>-writer.lock` just before the first
write statement of a transaction and drops it when that transaction ends, so a process waiting to write
gets in within a fraction of a millisecond of the other's commit, instead of sleeping through SQLite's
busy-handler steps (1, 2, 5, 10 … ms) while the other's write transaction lasts about one. WAL checkpoints
run on a background thread of each process (`WalCheckpointer`), never on the thread that committed, and
under the lock only to rewind a WAL grown past 64 MiB (which SQLite alone never does under steady writes).
SQLite's `busy_timeout` stays as the backstop for every case the lock does not cover.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, fields
from urllib.parse import quote

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
BUSY_TIMEOUT = 30.0  # seconds: SQLite's own wait for its write lock, and the longest wait for the writer lock
CHECKPOINT_EVERY = 32  # a process's write transactions between its WAL checkpoint requests (WalCheckpointer)
CHECKPOINT_IDLE = 10.0  # seconds without a request after which a checkpointer closes its connection and ends
# A WAL longer than this (in pages; 64 MiB at 4 KiB) is restarted: under continuous writes a PASSIVE checkpoint
# never leaves it fully copied when a writer begins, so SQLite never rewinds it and it grows without end.
WAL_RESTART_PAGES = 16384
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes (journal_size_limit): the WAL file is cut back to this on restart
CHECKPOINT_LOCK_WAIT = 1.0  # seconds a restarting checkpointer waits for the writer lock, else tries later


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def connection_of(db) -> Connection:
    """The Core connection a database handle runs on: a Connection itself, or a Session's (which begins the
    Session's transaction if none is open). The store's functions accept either (engine/store/uow.py)."""
    return db if isinstance(db, Connection) else db.connection()


def dialect_name(db) -> str:
    """The dialect's name ("sqlite", "postgresql") of a Session or a Connection."""
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, enforced foreign keys and the writer lock."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": BUSY_TIMEOUT})
    return configure_engine(create_engine(url, **kwargs))


def configure_engine(engine: Engine) -> Engine:
    """Apply our SQLite settings to an engine made elsewhere (Flask-SQLAlchemy's); other dialects as they are.
    Must run before the engine's first connection (the writer lock is chosen when a connection is made)."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)
        if engine.dialect.driver == "pysqlite":
            event.listen(engine, "do_connect", _locking_factory)
    return engine


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    if getattr(dbapi_conn, "writer_lock", None) is not None:  # checkpoints after the lock is dropped
        cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cur.close()


def _locking_factory(_dialect, _record, _cargs, cparams):
    if os.environ.get("ZHICHENG_SQLITE_WRITER_LOCK", "1") != "0":  # "0": off (A/B measurements only)
        cparams.setdefault("factory", LockingConnection)


# ---------------------------------------------------------------------------------------------------------
# The SQLite writer lock


@dataclass
class LockStats:
    """What one process's writer lock did (bench output; counters, no effect on behaviour)."""

    transactions: int = 0  # write transactions that took the lock (or joined this process's hold)
    contended: int = 0  # ... of which had to wait for another process
    waited: float = 0.0  # seconds spent waiting for another process
    held: float = 0.0  # seconds the lock was held
    timeouts: int = 0  # waits that gave up after BUSY_TIMEOUT and fell back to SQLite's busy handler
    checkpoints: int = 0  # WAL checkpoints the background checkpointer ran
    checkpoint_time: float = 0.0  # ... their seconds (wall, on the checkpointer's thread)
    checkpoint_failures: int = 0  # checkpoints (or opening its connection) that raised: counted, then ignored
    wal_restarts: int = 0  # checkpoints that rewound a WAL longer than WAL_RESTART_PAGES (WalCheckpointer)
    wal_restart_busy: int = 0  # ... that could not (a reader still in the WAL): retried on the next request

    def add(self, other: LockStats) -> None:
        for name in _STAT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def minus(self, other: LockStats) -> LockStats:
        return LockStats(*(getattr(self, n) - getattr(other, n) for n in _STAT_FIELDS))


_STAT_FIELDS = tuple(f.name for f in fields(LockStats))


class WriterLock:
    """The writer lock of one SQLite file in this process: an exclusive `flock` on `<database>-writer.lock`
    held while at least one of this process's connections is inside a write transaction.

    Connections of one process share the hold (a counter): a second connection that starts writing while
    the first is still in its transaction does not wait for the lock its own process holds (which would
    deadlock a thread that uses two connections); it goes straight to SQLite, whose busy timeout decides
    between them as it did before. The kernel drops a `flock` when its process dies, so a crashed holder
    never blocks the others. A wait longer than BUSY_TIMEOUT gives up and falls back to SQLite's busy
    handler (which then raises `database is locked` if the holder is really stuck).
    """

    def __init__(self, path: str):
        self.path = path
        self.mutex = threading.Lock()
        self.holders = 0
        self.fd: int | None = None  # opened once per process; holds the flock while holders > 0
        self.since = 0.0
        self.commits = 0  # write transactions committed by this process (paces its checkpoints)
        self.stats = LockStats()
        self.checkpointer = WalCheckpointer(path.removesuffix("-writer.lock"), self.stats, self)

    def acquire(self, timeout: float | None = None) -> bool:
        """Count one more write transaction of this process; wait (at most `timeout`, default BUSY_TIMEOUT)
        for other processes' first. False: no lock (the lock file cannot be opened, or the wait timed
        out): the caller writes without it."""
        with self.mutex:
            if self.holders:
                self.holders += 1
                self.stats.transactions += 1
                return True
            if self.fd is None:
                self.fd = _open(self.path)
                if self.fd is None:
                    return False
            if not _try_lock(self.fd):
                began = time.perf_counter()
                got = _poll(self.fd, began + (BUSY_TIMEOUT if timeout is None else timeout))
                self.stats.contended += 1
                self.stats.waited += time.perf_counter() - began
                if not got:
                    self.stats.timeouts += 1
                    return False
            self.since = time.perf_counter()
            self.holders = 1
            self.stats.transactions += 1
            return True

    def release(self) -> None:
        with self.mutex:
            self.holders -= 1
            if self.holders == 0:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
                self.stats.held += time.perf_counter() - self.since


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on one SQLite file for this process, on a daemon thread with
    its own plain connection, when `request()` asks. A checkpoint costs ≈ 9 ms of fsyncs: on the committing
    thread it delayed the action's caller; here nobody waits for it.

    `request()` only sets an Event, and starts the thread if there is none: requests made while a
    checkpoint runs coalesce into one more. PASSIVE copies what no reader still needs and never waits, and
    the thread does not take the writer lock for it, so other writers go on meanwhile; only when the WAL
    has grown past WAL_RESTART_PAGES does it take the lock for one RESTART checkpoint (`_restart`). Errors (busy, I/O, the file
    removed) are counted in the stats and otherwise ignored: the next request catches up. After
    CHECKPOINT_IDLE seconds without a request the thread closes its connection and ends (a later request
    starts another), so a removed database's file is not kept open by a thread nobody needs any more.
    """

    def __init__(self, database: str, stats: LockStats, lock: WriterLock | None = None):
        self.database = database
        self.stats = stats
        self.lock = lock  # the file's writer lock: held while a long WAL is restarted
        self.wanted = threading.Event()
        self.mutex = threading.Lock()  # guards `thread` (its start, and its decision to end)
        self.thread: threading.Thread | None = None
        self.stopping = False  # interpreter exit: end without running pending requests
        self.attempts = 0  # checkpoints tried, failed or not (tests wait on `done`)
        self.busy = False  # a checkpoint is running now
        self.done = threading.Condition()

    def request(self) -> None:
        """Ask for a checkpoint; never waits for one."""
        self.wanted.set()
        with self.mutex:
            if self.thread is None and not self.stopping:
                name = f"wal-checkpoint {os.path.basename(self.database)}"
                self.thread = threading.Thread(target=self._run, name=name, daemon=True)
                self.thread.start()

    def wait_for(self, attempts: int, timeout: float) -> bool:
        """Until `attempts` checkpoints were tried in all (tests); False if the timeout passed first."""
        with self.done:
            return self.done.wait_for(lambda: self.attempts >= attempts, timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Until no checkpoint runs or is asked for (benchmarks: keep one side's background work out of the
        other side's timing); False if the timeout passed first."""
        with self.done:
            return self.done.wait_for(lambda: not self.busy and not self.wanted.is_set(), timeout)

    def stop(self, timeout: float) -> None:
        """Interpreter exit: let a running checkpoint finish and the connection close (at most `timeout`)."""
        with self.mutex:
            self.stopping, thread = True, self.thread
        self.wanted.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        # The connection lives only in this frame: a forked child, whose copy of this thread never runs,
        # never uses (or closes) it.
        conn = None
        try:
            while True:
                if not self.wanted.wait(CHECKPOINT_IDLE):
                    with self.mutex:
                        if not self.wanted.is_set():  # a request made now starts another thread
                            self.thread = None
                            return
                if self.stopping:
                    return
                with self.done:
                    self.wanted.clear()
                    self.busy = True
                began = time.perf_counter()
                try:
                    if conn is None:
                        conn = self._connect()
                    _busy, frames, _copied = self._checkpoint(conn)
                    self.stats.checkpoints += 1
                    if frames > WAL_RESTART_PAGES:
                        self._restart(conn)
                    self.stats.checkpoint_time += time.perf_counter() - began
                except Exception:  # noqa: BLE001 - busy, I/O, removed file: the next request retries
                    self.stats.checkpoint_failures += 1
                    conn = _close(conn)
                with self.done:
                    self.attempts += 1
                    self.busy = False
                    self.done.notify_all()
        finally:
            with self.mutex:
                if self.thread is threading.current_thread():  # ended by surprise: the next request restarts
                    self.thread = None
            _close(conn)

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: a removed database is an error here, never recreated empty
        uri = f"file:{quote(self.database)}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=0.1, isolation_level=None, check_same_thread=True)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("PRAGMA synchronous=NORMAL")  # as our other connections: the same syncs as inline
        except Exception:
            conn.close()
            raise
        return conn

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """(busy, WAL frames, frames checkpointed): PRAGMA wal_checkpoint's answer."""
        return conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()[0]

    def _restart(self, conn: sqlite3.Connection) -> None:
        """Copy the rest of the WAL and rewind it, holding the writer lock so that no writer appends
        meanwhile: the next write transaction then starts the WAL from its beginning (and cuts the file
        back to WAL_SIZE_LIMIT). SQLite rewinds a WAL only when a writer begins while every frame has been
        copied and no reader still reads one; with writers always at work a PASSIVE checkpoint never
        leaves it so, and the WAL grew by ≈ 90 MB/s in a 2-worker simulate (9 GB in two minutes). The
        hold lasts one checkpoint of what the last PASSIVE left, plus RESTART's wait (the connection's
        busy timeout) for readers of the WAL; if one is still reading, this is counted and retried next
        time."""
        if self.lock is None or not self.lock.acquire(timeout=CHECKPOINT_LOCK_WAIT):
            self.stats.wal_restart_busy += 1
            return
        try:
            busy, _frames, _copied = self._checkpoint(conn, "RESTART")
        finally:
            self.lock.release()
        if busy:
            self.stats.wal_restart_busy += 1
        else:
            self.stats.wal_restarts += 1


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a connection to a removed file: nothing to keep
            pass


def _open(path: str) -> int | None:
    """The lock file, created beside the database if missing; read-only is enough for flock."""
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(path, flags | os.O_CLOEXEC, 0o666)
        except OSError:
            continue
    return None


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


# Pauses between tries while another process holds the lock: a write transaction lasts about a millisecond,
# so the first tries come every 50-100 µs (SQLite's busy handler sleeps 1, 2, 5, 10 … ms).
_STEPS = (0.00005,) * 4 + (0.0001,) * 8 + (0.0002,) * 10 + (0.0005,) * 10


def _poll(fd: int, deadline: float) -> bool:
    """Try until the lock is ours or the deadline passes. The waiting thread takes the lock itself when it
    runs: a blocking flock in a helper thread (woken by the kernel, then waking the caller) held the lock
    across two wake-ups, and under CPU load that convoy made every waiter slower than SQLite's own."""
    tries = 0
    while True:
        time.sleep(_STEPS[tries] if tries < len(_STEPS) else 0.001)
        tries += 1
        if _try_lock(fd):
            return True
        if time.perf_counter() > deadline:
            return False


_LOCKS: dict[str, WriterLock] = {}
_LOCKS_MUTEX = threading.Lock()
_GENERATION = [0]  # bumped in a forked child: holds counted before the fork are not the child's


def writer_lock(database: str) -> WriterLock | None:
    """This process's writer lock of an SQLite database file (None for in-memory databases)."""
    if database in ("", ":memory:") or "mode=memory" in database:
        return None
    path = database.removeprefix("file:").split("?", 1)[0] if database.startswith("file:") else database
    path = os.path.realpath(path) + "-writer.lock"
    with _LOCKS_MUTEX:
        lock = _LOCKS.get(path)
        if lock is None:
            lock = _LOCKS[path] = WriterLock(path)
        return lock


def lock_stats() -> LockStats:
    """The sum over this process's writer locks."""
    total = LockStats()
    for lock in list(_LOCKS.values()):
        total.add(lock.stats)
    return total


def wait_for_checkpoints(timeout: float = 5.0) -> bool:
    """Until this process's background checkpointers are idle (benchmarks); False if one still runs."""
    return all(lock.checkpointer.wait_idle(timeout) for lock in list(_LOCKS.values()))


def _after_fork_in_child() -> None:
    """A forked child shares the parent's lock descriptors (and so its flock): start afresh. Threads do
    not survive a fork: the child's checkpointer starts its own thread and connection when first asked."""
    _GENERATION[0] += 1
    for lock in _LOCKS.values():
        if lock.fd is not None:
            try:
                os.close(lock.fd)  # the parent's descriptor stays open, and its lock with it
            except OSError:
                pass
        lock.fd, lock.holders, lock.mutex = None, 0, threading.Lock()
        lock.checkpointer = WalCheckpointer(lock.checkpointer.database, lock.stats, lock)


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _stop_checkpointers() -> None:
    """An idle checkpointer ends at once; a running checkpoint may finish (bounded). Pending requests are
    dropped: the next process's first checkpoint copies what is left."""
    for lock in list(_LOCKS.values()):
        lock.checkpointer.stop(timeout=1.0)


_READS = ("SELECT", "PRAGMA", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "END")
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def writes(sql: str) -> bool:
    """Whether a statement may take SQLite's write lock (when unsure: yes)."""
    if sql.startswith("SELECT"):  # SQLAlchemy's reads: the common case first
        return False
    head = sql.lstrip()[:9].upper()
    if head.startswith(_READS):
        return False
    if head.startswith("BEGIN"):
        return bool(re.match(r"\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)", sql, re.IGNORECASE))
    if head.startswith("WITH"):
        return bool(_DML.search(sql))
    return True


class LockingCursor(sqlite3.Cursor):
    """Takes the connection's writer lock before the transaction's first write statement."""

    def execute(self, sql, parameters=()):
        return self._guarded(sql, super().execute, sql, parameters)

    def executemany(self, sql, seq_of_parameters):
        return self._guarded(sql, super().executemany, sql, seq_of_parameters)

    def executescript(self, sql_script):
        return self._guarded(None, super().executescript, sql_script)  # a script: assume it writes

    def _guarded(self, sql, run, *args):
        """`run(*args)`, with the writer lock taken first when `sql` may write (None: assume it does) and
        dropped after a statement that left no transaction open."""
        conn = self.connection
        if conn.lock_state is None and conn.writer_lock is not None and (sql is None or writes(sql)):
            conn.take_lock()
        try:
            return run(*args)
        finally:
            if conn.lock_state is not None and not conn.in_transaction:
                conn.drop_lock()  # autocommit statement, DDL, an explicit COMMIT, or a failed first write


class LockingConnection(sqlite3.Connection):
    """sqlite3 connection whose write transactions hold this process's writer lock of the file: taken by
    LockingCursor before the first write, dropped after commit(), rollback() or close() has finished."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.writer_lock = writer_lock(os.fsdecode(database))
        # None: not in a write transaction; else (generation, counted): counted = this connection is one
        # of the process's holders (False: it writes without the lock, after a timeout)
        self.lock_state: tuple[int, bool] | None = None

    def cursor(self, factory=LockingCursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=()):  # the C shortcuts would bypass LockingCursor
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters):
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script):
        return self.cursor().executescript(sql_script)

    def take_lock(self) -> None:
        self.lock_state = (_GENERATION[0], self.writer_lock.acquire())

    def drop_lock(self) -> None:
        state, self.lock_state = self.lock_state, None
        if state is not None and state[1] and state[0] == _GENERATION[0]:
            self.writer_lock.release()

    def commit(self):
        try:
            return super().commit()
        finally:
            if self.lock_state is not None:
                self.drop_lock()
                self.writer_lock.commits += 1
                if self.writer_lock.commits % CHECKPOINT_EVERY == 0:
                    self.request_checkpoint()

    def request_checkpoint(self) -> None:
        """Ask this file's background checkpointer to copy the WAL into the database; returns at once.
        SQLite's automatic checkpoint (off on these connections) would run inside commit(), i.e. while
        this process still holds the writer lock, making the other writers wait for its copying and
        syncing; run inline after commit() it made the action's caller wait. Connections outside the
        scheme keep SQLite's automatic checkpoints."""
        self.writer_lock.checkpointer.request()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            if self.lock_state is not None:
                self.drop_lock()

    def close(self):
        try:
            return super().close()
        finally:
            if self.lock_state is not None:
                self.drop_lock()
