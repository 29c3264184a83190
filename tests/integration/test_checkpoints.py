"""Checkpoints over time: the worker signs one at least hourly while applications change; the log only grows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from engine.audit import signing
from engine.audit.checkpoints import WorkerCheckpointer, make_checkpoint
from engine.audit.logcheck import load_log
from engine.audit.tables import Checkpoint, LogEntry
from engine.audit.verify import Verifier
from engine.runtime import Actor
from engine.store import services, worker
from engine.store.tables import HistoryEvent


@pytest.fixture
def key(tmp_path):
    private, _, _ = signing.generate_keypair(tmp_path / "audit.pem")
    return signing.load_private_key(private)


def _start(session_factory, clock, world, who="alice", unit="unit_a"):
    with session_factory() as s:
        return services.start_application(s, clock, world.users[who], world.orgs[unit])


def _count(session_factory, model):
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_worker_checkpoints_hourly_only_while_applications_change(session_factory, clock, world, key):
    hook = WorkerCheckpointer(key)
    run = lambda: worker.run_worker(session_factory, clock, once=True, after_tick=hook)  # noqa: E731
    run()
    assert _count(session_factory, Checkpoint) == 0  # nothing happened yet: nothing to sign
    _start(session_factory, clock, world)
    clock.advance(timedelta(minutes=5))  # a quiet log is looked at again after 5 minutes
    run()
    assert _count(session_factory, Checkpoint) == 1
    clock.advance(timedelta(minutes=30))
    _start(session_factory, clock, world, "bob", "unit_b")
    run()
    assert _count(session_factory, Checkpoint) == 1  # the last is younger than an hour
    clock.advance(timedelta(minutes=31))
    run()
    assert _count(session_factory, Checkpoint) == 2  # an hour on the engine clock, and bob is new
    clock.advance(timedelta(hours=3))
    run()
    assert _count(session_factory, Checkpoint) == 2  # quiet: no checkpoint without new events
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(LogEntry)) == s.scalar(
            select(func.count()).select_from(HistoryEvent)
        )


def test_each_checkpoint_extends_the_previous_one(session_factory, clock, world, key):
    alice = _start(session_factory, clock, world)
    sizes = []
    with session_factory() as s:
        sizes.append(make_checkpoint(s, clock, key).tree_size)
        clock.advance(timedelta(days=1))
        services.complete_task(
            s, clock, alice, "applicant_submit", Actor(world.users["alice"], name="alice"), _declaration()
        )
        sizes.append(make_checkpoint(s, clock, key).tree_size)
        sizes.append(make_checkpoint(s, clock, key).tree_size)  # on demand, nothing new: same size, signed
        view = load_log(s, key.public_key())
    assert sizes == [1, 2, 2] and view.problems == [] and view.latest.id == 3
    with session_factory() as s:
        s.execute(
            update(Checkpoint).where(Checkpoint.id == 2).values(consistency_json=json.dumps(["00" * 32]))
        )
        s.commit()
        assert any("不能证明包含" in p.message for p in load_log(s, key.public_key()).problems)


def test_removed_latest_checkpoint_is_seen_as_unsigned_log_entries(session_factory, clock, world, key):
    _start(session_factory, clock, world)
    with session_factory() as s:
        make_checkpoint(s, clock, key)
        clock.advance(timedelta(hours=2))
        _start(session_factory, clock, world, "bob", "unit_b")
        make_checkpoint(s, clock, key)
        s.execute(Checkpoint.__table__.delete().where(Checkpoint.id == 2))
        s.commit()
        verifier = Verifier(s, key.public_key())
    assert any("未被任何检查点签署" in p.message for p in verifier.log.problems)


def _declaration():
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_a_saved_checkpoint_catches_a_rollback_of_log_and_checkpoints(
    session_factory, clock, world, key, database_url, monkeypatch, tmp_path
):
    from click.testing import CliRunner

    from engine.audit.logcheck import check_known
    from webapp.cli import cli

    _start(session_factory, clock, world)
    with session_factory() as s:
        saved = make_checkpoint(s, clock, key)
        clock.advance(timedelta(hours=2))
    _start(session_factory, clock, world, "bob", "unit_b")
    with session_factory() as s:
        make_checkpoint(s, clock, key)
        assert check_known(s, saved.tree_size, saved.root_hash) == []
        # The forger rolls everything back to before bob and rewrites alice's genesis from scratch.
        s.execute(Checkpoint.__table__.delete())
        s.execute(LogEntry.__table__.delete())
        s.execute(update(HistoryEvent).values(data_json='{"forged": true}'))
        s.commit()
        assert "被回滚或改写" in check_known(s, saved.tree_size, saved.root_hash)[0].message
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZHICHENG_AUDIT_PUBLIC_KEY", str(tmp_path / "audit.pem.pub"))
    runner = CliRunner()
    known = f"{saved.tree_size}:{saved.root_hash}"
    result = runner.invoke(cli, ["audit", "verify", "--all", "--known-checkpoint", known])
    assert result.exit_code == 1 and "被回滚或改写" in result.output
    result = runner.invoke(cli, ["audit", "verify", "--all", "--known-checkpoint", "12:xyz"])
    assert result.exit_code == 2 and "日志大小:根哈希" in result.output
