"""`zhicheng simulate`'s summary of the SQLite writer lock and WAL checkpointer (webapp.cli.store.lock_lines)."""

from __future__ import annotations

from engine.db import LockStats
from webapp.cli.store import lock_lines


def test_nothing_for_a_database_without_the_lock():
    assert lock_lines(LockStats()) == []


def test_restarts_and_postponed_restarts_are_reported():
    stats = LockStats(transactions=10, held=0.01, checkpoints=3, checkpoint_time=0.03)
    assert lock_lines(stats)[1] == "WAL 检查点（后台线程）：3 次，共 0.0 秒（平均 10.0 毫秒）"
    stats.wal_restarts, stats.wal_restart_busy = 2, 1
    assert lock_lines(stats)[1].endswith("；WAL 回卷 2 次（另有 1 次因仍有读者推迟）")
    stats.wal_restarts = 0  # postponed only: still said
    assert lock_lines(stats)[1].endswith("；WAL 回卷 0 次（另有 1 次因仍有读者推迟）")
    assert lock_lines(stats)[0].startswith("SQLite 写锁：10 个写事务")
