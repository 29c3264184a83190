"""SQLAlchemy metadata shared by every engine table; webapp binds Flask-SQLAlchemy to it.

SQLite files also get a cross-process **writer lock** (`WriterLock`, engine/store/README.md "The SQLite
writer lock"): a connection takes an exclusive `flock` on `<database>-writer.lock` just before the first
write statement of a transaction and drops it when that transaction ends, so a process waiting to write is
woken by the kernel the moment the other commits, instead of sleeping through SQLite's busy-handler steps
(1, 2, 5, 10 … ms) while the other's write transaction lasts about one. SQLite's `busy_timeout` stays as
the backstop for every case the lock does not cover.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
BUSY_TIMEOUT = 30.0  # seconds: SQLite's own wait for its write lock, and the longest wait for the writer lock


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


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
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
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

    def add(self, other: LockStats) -> None:
        for name in _STAT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def minus(self, other: LockStats) -> LockStats:
        return LockStats(*(getattr(self, n) - getattr(other, n) for n in _STAT_FIELDS))


_STAT_FIELDS = ("transactions", "contended", "waited", "held", "timeouts")


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
        self.stats = LockStats()

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
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.since = time.perf_counter()
            except BlockingIOError:
                began = time.perf_counter()
                fd = _wait(self.path, BUSY_TIMEOUT if timeout is None else timeout)
                self.since = time.perf_counter()
                self.stats.contended += 1
                self.stats.waited += self.since - began
                if fd is None:
                    self.stats.timeouts += 1
                    return False
                os.close(self.fd)  # not locked; the new descriptor holds the lock from now on
                self.fd = fd
            self.holders = 1
            self.stats.transactions += 1
            return True

    def release(self) -> None:
        with self.mutex:
            self.holders -= 1
            if self.holders == 0:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
                self.stats.held += time.perf_counter() - self.since


def _open(path: str) -> int | None:
    """The lock file, created beside the database if missing; read-only is enough for flock."""
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(path, flags | os.O_CLOEXEC, 0o666)
        except OSError:
            continue
    return None


def _wait(path: str, timeout: float) -> int | None:
    """Block on the lock in a helper thread (the kernel wakes it when the holder unlocks) for at most
    `timeout` s; return a new descriptor holding the lock, or None. A wait given up is abandoned: its
    thread closes its descriptor (dropping the lock at once) if it ever gets it."""
    fd = _open(path)
    if fd is None:
        return None
    guard, box = threading.Lock(), {"got": False, "abandoned": False}

    def wait() -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with guard:
            if box["abandoned"]:
                os.close(fd)
            else:
                box["got"] = True

    thread = threading.Thread(target=wait, name="sqlite-writer-lock", daemon=True)
    thread.start()
    thread.join(timeout)
    with guard:
        if box["got"]:
            return fd
        box["abandoned"] = True
        return None


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


def _after_fork_in_child() -> None:
    """A forked child shares the parent's lock descriptors (and so its flock): start afresh."""
    _GENERATION[0] += 1
    for lock in _LOCKS.values():
        if lock.fd is not None:
            try:
                os.close(lock.fd)  # the parent's descriptor stays open, and its lock with it
            except OSError:
                pass
        lock.fd, lock.holders, lock.mutex = None, 0, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)

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
        conn = self.connection
        if conn.lock_state is None and conn.writer_lock is not None and writes(sql):
            conn.take_lock()
        try:
            return super().execute(sql, parameters)
        finally:
            if conn.lock_state is not None and not conn.in_transaction:
                conn.drop_lock()  # autocommit statement, DDL, an explicit COMMIT, or a failed first write

    def executemany(self, sql, seq_of_parameters):
        conn = self.connection
        if conn.lock_state is None and conn.writer_lock is not None and writes(sql):
            conn.take_lock()
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            if conn.lock_state is not None and not conn.in_transaction:
                conn.drop_lock()

    def executescript(self, sql_script):
        conn = self.connection
        if conn.lock_state is None and conn.writer_lock is not None:
            conn.take_lock()
        try:
            return super().executescript(sql_script)
        finally:
            if conn.lock_state is not None and not conn.in_transaction:
                conn.drop_lock()


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
