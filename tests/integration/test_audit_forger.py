"""The forger: someone with write access to the database (and to exported bundles) but not the signing key.

For each kind of tamper, verify fails naming the application and the kind; an untouched record verifies.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, select, update

from calendars import TZ
from engine.audit import signing
from engine.audit.bundle import BundleError, export_bundle, verify_bundle
from engine.audit.checkpoints import make_checkpoint
from engine.audit.tables import LogEntry
from engine.audit.verify import Verifier, verify_application, verify_in_processes
from engine.clock import FixedClock
from engine.deployment import read_sources
from engine.runtime import Actor
from engine.store import history, services
from engine.store.indexes import summary_fields, write_indexes, write_state
from engine.store.tables import (
    ApplicationRow,
    DeploymentRow,
    DueTimer,
    HistoryEvent,
    WorkflowState,
    WorkItem,
)
from engine.store.worker import tick
from tests.snapshots import snapshot_now

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2020, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    private, public, _ = signing.generate_keypair(folder / "audit-key.pem")
    other, other_public, _ = signing.generate_keypair(folder / "other-key.pem")
    return {
        "private": signing.load_private_key(private),
        "public": signing.load_public_key(public),
        "public_path": public,
        "other": signing.load_private_key(other),
        "other_public": signing.load_public_key(other_public),
    }


@pytest.fixture
def apps(session_factory, world, clock, keys):
    """alice (unit_a, with tier 2) approved by her unit, checkpointed, then the notice fires after the
    checkpoint; carol (unit_c) submitted. Each has a stored state snapshot, as an application past the
    snapshot interval has (the forgeries below edit it). Returns {"alice": id, "carol": id}."""
    u = world.users
    unit = Actor(u["unit_a_admin"], frozenset({(world.orgs["unit_a"], "admin")}), "unit_a_admin")
    with session_factory() as s:
        alice = services.start_application(s, clock, u["alice"], world.orgs["unit_a"])
        carol = services.start_application(s, clock, u["carol"], world.orgs["unit_c"])
        clock.set(at(11, 18))
        for who, app_id in (("alice", alice), ("carol", carol)):
            services.complete_task(
                s, clock, app_id, "applicant_submit", Actor(u[who], name=who), dict(DECLARATION)
            )
        clock.set(at(11, 20, 15, 30))
        services.complete_task(s, clock, alice, "unit_review", unit, dict(APPROVE))
        make_checkpoint(s, clock, keys["private"])
    clock.set(at(11, 28, 9))  # after the checkpoint: the public notice ends, a timer event is appended
    tick(session_factory, clock)
    with session_factory() as s:
        for app_id in (alice, carol):
            snapshot_now(s, app_id, clock)
    return {"alice": alice, "carol": carol}


def verify(session_factory, app_id, keys, key="public"):
    with session_factory() as s:
        return verify_application(s, app_id, keys[key])


def kinds(result) -> set[str]:
    return {p.kind for p in result.problems}


def test_untouched_campaign_verifies_and_is_covered(session_factory, apps, keys):
    for app_id in apps.values():
        result = verify(session_factory, app_id, keys)
        assert result.ok, [str(p) for p in result.problems]
        assert result.checkpoint_id == 1 and result.checkpoint_seq is not None
    assert verify(session_factory, apps["alice"], keys).checkpoint_seq == 3  # the timer came later


def test_edited_deployment_source_is_named_as_such(session_factory, apps, keys):
    with session_factory() as s:
        dep = s.scalar(select(DeploymentRow))
        sources = json.loads(dep.sources_json)
        name = next(n for n in sources if n.startswith("campaigns/"))
        sources[name] = sources[name].replace("amount_cny = 420", "amount_cny = 4200")
        s.execute(update(DeploymentRow).values(sources_json=json.dumps(sources, ensure_ascii=False)))
        s.commit()
    services._DEPLOYMENTS.clear()  # the forger's process starts fresh too
    for app_id in apps.values():
        result = verify(session_factory, app_id, keys)
        assert "deployment" in kinds(result)
        assert "部署文件被改动" in str(result.problems[0]) and "内容哈希" in str(result.problems[0])


def test_edited_stored_spec_is_named(session_factory, apps, keys):
    with session_factory() as s:
        s.execute(update(DeploymentRow).values(spec_json='{"forged": true}'))
        s.commit()
    assert "deployment" in kinds(verify(session_factory, apps["alice"], keys))


def _column_forgeries(world, session):
    other_dep = services.deploy(session, FixedClock(at(11, 17)), _edited_sources(), replace=True).id
    return {
        "applicant_id": world.users["bob"],
        "applicant_name": "王五",
        "campaign_id": "cq-2021-forged",
        "deployment_id": other_dep,
        "unit_id": world.orgs["unit_b"],
        "tier2_id": world.orgs["hr"],
        "tier3_id": world.orgs["city_dept"],
        "committee_id": world.orgs["city_dept"],
        "created_at": at(11, 1),
        "series": "senior_economist",
        "title_sought": "正高级经济师",
        "status": "accepted",
        "stage": "committee_review",
        "waiting_org_id": world.orgs["committee"],
        "deadline": at(12, 31),
        "responsible_org_id": world.orgs["dept"],
        "head_hash": "f" * 64,
    }


def _edited_sources():
    sources = read_sources()
    name = next(n for n in sources if n.startswith("campaigns/"))
    sources[name] = sources[name].replace("amount_cny = 420", "amount_cny = 4200")
    return sources


COLUMNS = [
    ("applicant_id", "facts"),
    ("applicant_name", "facts"),
    ("campaign_id", "facts"),
    ("deployment_id", "facts"),
    ("unit_id", "facts"),
    ("tier2_id", "facts"),
    ("tier3_id", "facts"),
    ("committee_id", "facts"),
    ("created_at", "facts"),
    ("series", "index"),
    ("title_sought", "index"),
    ("status", "index"),
    ("stage", "index"),
    ("waiting_org_id", "index"),
    ("deadline", "index"),
    ("responsible_org_id", "index"),
    ("head_hash", "index"),
]


@pytest.mark.parametrize("column,kind", COLUMNS)
def test_each_edited_application_column_is_named(session_factory, apps, keys, world, column, kind):
    with session_factory() as s:
        value = _column_forgeries(world, s)[column]
        s.execute(update(ApplicationRow).where(ApplicationRow.id == apps["alice"]).values({column: value}))
        s.commit()
    result = verify(session_factory, apps["alice"], keys)
    assert kind in kinds(result), [str(p) for p in result.problems]
    assert verify(session_factory, apps["carol"], keys).ok  # the other application is untouched


def _edit_state(session_factory, app_id, edit):
    with session_factory() as s:
        state = json.loads(
            s.scalar(select(WorkflowState.state_json).where(WorkflowState.application_id == app_id))
        )
        edit(state)
        s.execute(
            update(WorkflowState)
            .where(WorkflowState.application_id == app_id)
            .values(state_json=json.dumps(state))
        )
        s.commit()


def test_forged_workflow_level_data_is_named(session_factory, apps, keys):
    _edit_state(session_factory, apps["alice"], lambda st: st["data"].update(receipt_number="CQ2020-9999"))
    result = verify(session_factory, apps["alice"], keys)
    assert kinds(result) == {"state"} and "流程级数据" in str(result.problems[0])


def test_state_that_is_not_json_is_named(session_factory, apps, keys):
    with session_factory() as s:
        s.execute(
            update(WorkflowState)
            .where(WorkflowState.application_id == apps["carol"])
            .values(state_json="not json {")
        )
        s.commit()
    result = verify(session_factory, apps["carol"], keys)
    assert kinds(result) == {"state"} and "无法读取" in str(result.problems[0])


def test_edited_event_data_breaks_the_chain_at_that_event(session_factory, apps, keys):
    with session_factory() as s:
        s.execute(
            update(HistoryEvent)
            .where(HistoryEvent.application_id == apps["alice"], HistoryEvent.seq == 3)
            .values(data_json=HistoryEvent.data_json + " ")
        )
        s.commit()
    result = verify(session_factory, apps["alice"], keys)
    assert "chain" in kinds(result) and any(p.seq == 3 for p in result.problems)


def test_swapped_events_are_named(session_factory, apps, keys):
    with session_factory() as s:
        rows = {
            e.seq: e
            for e in s.scalars(select(HistoryEvent).where(HistoryEvent.application_id == apps["alice"]))
        }
        rows[2].seq, rows[3].seq = -3, -2
        s.flush()
        rows[2].seq, rows[3].seq = 3, 2
        s.commit()
    result = verify(session_factory, apps["alice"], keys)
    assert {"chain", "checkpoint"} <= kinds(result)


def test_deleted_last_checkpointed_event_is_named(session_factory, apps, keys):
    """Deleting a chain's last events leaves a valid shorter chain: only the checkpoint knows better."""
    app_id = apps["carol"]
    with session_factory() as s:
        s.execute(delete(HistoryEvent).where(HistoryEvent.application_id == app_id, HistoryEvent.seq == 2))
        s.commit()
    result = verify(session_factory, app_id, keys)
    assert "checkpoint" in kinds(result)
    assert any("第 2 条记录已不存在" in str(p) for p in result.problems)


def _rehash_and_regenerate(s, app_id: int, from_seq: int) -> None:
    """What a careful forger does after editing an event: recompute every later hash and the state."""
    rows = list(
        s.scalars(
            select(HistoryEvent).where(HistoryEvent.application_id == app_id).order_by(HistoryEvent.seq)
        )
    )
    prev = history.GENESIS
    for e in rows:
        if e.seq >= from_seq:
            e.prev_hash = prev
            e.hash = history.event_hash(
                application_id=e.application_id,
                seq=e.seq,
                at=e.at,
                actor_id=e.actor_id,
                org_id=e.org_id,
                event_type=e.event_type,
                stage=e.stage,
                data_json=e.data_json,
                prev_hash=prev,
            )
        prev = e.hash
    s.flush()
    from engine.audit.replay import replay

    row = s.get(ApplicationRow, app_id)
    replayed, divergence = replay(services.deployment_for(s, row.deployment_id), history.events(s, app_id))
    assert divergence is None
    write_state(s, app_id, replayed)
    write_indexes(s, app_id, replayed)
    s.execute(update(ApplicationRow).where(ApplicationRow.id == app_id).values(**summary_fields(replayed)))
    s.commit()


def _forge_opinion(session_factory, app_id: int, seq: int) -> None:
    with session_factory() as s:
        event = s.scalar(
            select(HistoryEvent).where(HistoryEvent.application_id == app_id, HistoryEvent.seq == seq)
        )
        data = json.loads(event.data_json)
        data["form"]["opinion"] = "伪造的意见：该同志业绩突出。"
        event.data_json = history.canonical_json(data)
        _rehash_and_regenerate(s, app_id, seq)


def test_consistent_rewrite_passes_every_internal_check_but_not_the_checkpoint(session_factory, apps, keys):
    app_id = apps["alice"]
    _forge_opinion(session_factory, app_id, 3)  # the unit's approval, then re-hash and regenerate state
    with session_factory() as s:
        unanchored = Verifier(s, None)
        unanchored.log.by_app.clear()  # as the system was before checkpoints: nothing to compare with
        assert unanchored.application(app_id).ok
    result = verify(session_factory, app_id, keys)
    assert kinds(result) == {"checkpoint"}
    assert result.problems[0].seq == 3 and "第 3 条记录" in str(result.problems[0])
    assert verify(session_factory, apps["carol"], keys).ok


def test_checkpoint_signed_with_another_key_is_refused(session_factory, apps, keys, clock):
    with session_factory() as s:
        make_checkpoint(s, clock, keys["other"])
        verifier = Verifier(s, keys["public"])
    assert any("不是由所给公钥签署" in p.message for p in verifier.log.problems)
    assert verifier.log.latest.id == 1  # coverage falls back to the last checkpoint the key signed


def test_forger_cannot_checkpoint_the_forgery_with_their_own_key(session_factory, apps, keys, clock):
    _forge_opinion(session_factory, apps["alice"], 3)
    with session_factory() as s:
        make_checkpoint(s, clock, keys["other"])
    result = verify(session_factory, apps["alice"], keys)
    assert "checkpoint" in kinds(result) and result.problems[0].seq == 3


def test_edited_log_entry_is_named(session_factory, apps, keys):
    with session_factory() as s:
        s.execute(update(LogEntry).where(LogEntry.leaf_index == 0).values(event_hash="0" * 64))
        s.commit()
        verifier = Verifier(s, keys["public"])
    assert any("根哈希不符" in p.message for p in verifier.log.problems)


def test_deleted_application_is_named_by_the_log(session_factory, apps, keys):
    app_id = apps["carol"]
    with session_factory() as s:
        for table in (WorkItem, DueTimer, WorkflowState, HistoryEvent):
            s.execute(delete(table).where(table.application_id == app_id))
        s.execute(delete(ApplicationRow).where(ApplicationRow.id == app_id))
        s.commit()
        verifier = Verifier(s, keys["public"])
        vanished = verifier.vanished({apps["alice"]})
    assert [a for a, _ in vanished] == [app_id]


def test_checkpoint_refuses_to_sign_over_a_broken_chain(session_factory, apps, keys, clock):
    with session_factory() as s:
        s.execute(
            update(HistoryEvent)
            .where(HistoryEvent.application_id == apps["alice"], HistoryEvent.seq == 4)
            .values(stage="forged")
        )
        s.commit()
        clock.advance(timedelta(hours=2))
        report = make_checkpoint(s, clock, keys["private"])
    assert [a for a, _ in report.skipped] == [apps["alice"]]


# ---- bundles -------------------------------------------------------------------------------------------


def _bundle(session_factory, app_id):
    with session_factory() as s:
        return json.loads(json.dumps(export_bundle(s, app_id)))


def bundle_kinds(bundle, keys, key="public"):
    return {p.kind for p in verify_bundle(bundle, keys[key]).problems}


def test_untouched_bundle_verifies_with_its_proofs(session_factory, apps, keys):
    bundle = _bundle(session_factory, apps["alice"])
    assert bundle["checkpoint"]["tree_size"] >= 5 and len(bundle["proof"]) == 3
    outcome = verify_bundle(bundle, keys["public"])
    assert outcome.problems == [] and outcome.checkpoint_verified


def test_bundle_consistent_rewrite_is_named(session_factory, apps, keys):
    """The forger rewrites the database consistently, then exports: the bundle's own proofs betray it."""
    _forge_opinion(session_factory, apps["alice"], 3)
    bundle = _bundle(session_factory, apps["alice"])
    problems = verify_bundle(bundle, keys["public"]).problems
    assert [p.kind for p in problems] == ["checkpoint"] and problems[0].seq == 3


def test_bundle_edited_by_hand_and_rehashed_is_named(session_factory, apps, keys):
    bundle = _bundle(session_factory, apps["alice"])
    prev = history.GENESIS
    bundle["events"][2]["data"]["form"]["opinion"] = "伪造"
    for e in bundle["events"]:
        e["prev_hash"] = prev
        e["hash"] = history.event_hash(
            application_id=bundle["application"]["id"],
            seq=e["seq"],
            at=datetime.fromisoformat(e["at"]),
            actor_id=e["actor_id"],
            org_id=e["org_id"],
            event_type=e["event_type"],
            stage=e["stage"],
            data_json=history.canonical_json(e["data"]),
            prev_hash=prev,
        )
        prev = e["hash"]
    problems = verify_bundle(bundle, keys["public"]).problems
    assert problems[0].kind == "checkpoint" and problems[0].seq == 3


def test_bundle_with_the_checkpoint_stripped_fails_with_a_key(session_factory, apps, keys):
    bundle = _bundle(session_factory, apps["alice"])
    bundle["checkpoint"] = bundle["proof"] = None
    assert bundle_kinds(bundle, keys) == {"checkpoint"}


def test_bundle_checkpoint_of_another_key_is_refused(session_factory, apps, keys):
    bundle = _bundle(session_factory, apps["alice"])
    problems = verify_bundle(bundle, keys["other_public"]).problems
    assert "不是由所给公钥签署" in problems[0].message


def test_bundle_deployment_swapped_with_recomputed_id_is_named(session_factory, apps, keys):
    from engine.deployment import content_hash

    bundle = _bundle(session_factory, apps["alice"])
    bundle["deployment"]["sources"] = _edited_sources()
    bundle["deployment"]["id"] = content_hash(bundle["deployment"]["sources"])
    problems = verify_bundle(bundle, keys["public"]).problems
    assert problems[0].kind == "deployment" and "部署被替换" in problems[0].message


@pytest.mark.parametrize(
    "key,value", [("applicant_name", "王五"), ("unit_id", 999), ("status", "accepted"), ("series", "x")]
)
def test_bundle_summary_is_checked(session_factory, apps, keys, key, value):
    bundle = _bundle(session_factory, apps["alice"])
    bundle["application"][key] = value
    assert bundle_kinds(bundle, keys) == {"bundle"}


def test_bundle_forged_workflow_data_and_non_json_state(session_factory, apps, keys):
    bundle = _bundle(session_factory, apps["alice"])
    state = json.loads(bundle["state"])
    state["data"]["receipt_number"] = "CQ2020-9999"
    bundle["state"] = json.dumps(state)
    assert bundle_kinds(bundle, keys) == {"state"}
    bundle["state"] = "not json {"
    problems = verify_bundle(bundle, keys["public"]).problems
    assert [p.kind for p in problems] == ["state"] and "不是合法的 JSON" in problems[0].message


def test_malformed_bundles_are_refused_with_a_reason(session_factory, apps, keys):
    bundle = _bundle(session_factory, apps["alice"])
    for broken, words in (
        ({**bundle, "format": "zhicheng-audit-bundle/1"}, "重新导出"),
        ({**bundle, "events": "x"}, "events"),
        ({**bundle, "state": {"a": 1}}, "state"),
        ([1, 2], "JSON 对象"),
    ):
        with pytest.raises(BundleError, match=words):
            verify_bundle(broken, keys["public"])


def test_verify_bundle_cli_offline(session_factory, apps, keys, tmp_path):
    from click.testing import CliRunner

    from webapp.cli import cli

    bundle = _bundle(session_factory, apps["alice"])
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["audit", "verify-bundle", str(good), "--public-key", str(keys["public_path"])]
    )
    assert result.exit_code == 0 and "检查点签名与包含证明有效" in result.output, result.output
    bundle["state"] = "{{not json"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(
        cli, ["audit", "verify-bundle", str(bad), "--public-key", str(keys["public_path"])]
    )
    assert result.exit_code == 1 and "不是合法的 JSON" in result.output and result.exception is not None
    assert "Traceback" not in result.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"format": "zhicheng-audit-bundle/2"}', encoding="utf-8")
    result = runner.invoke(cli, ["audit", "verify-bundle", str(garbage)])
    assert result.exit_code == 1 and "结构有误" in result.output


# ---- the command line ----------------------------------------------------------------------------------


def test_cli_keygen_checkpoint_list_and_verify(
    session_factory, world, clock, database_url, monkeypatch, tmp_path
):
    from click.testing import CliRunner

    from webapp.cli import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZHICHENG_AUDIT_KEY", str(tmp_path / "k" / "audit.pem"))
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "keygen"])
    assert result.exit_code == 0 and (tmp_path / "k" / "audit.pem.pub").exists(), result.output
    assert (tmp_path / "k" / "audit.pem").stat().st_mode & 0o077 == 0
    assert runner.invoke(cli, ["audit", "keygen"]).exit_code == 1  # never overwrites a key
    with session_factory() as s:
        app_id = services.start_application(s, clock, world.users["alice"], world.orgs["unit_a"])
    result = runner.invoke(cli, ["audit", "checkpoint", "--at", "2020-11-17T10:00+08:00"])
    assert result.exit_code == 0 and "检查点 1：1 项" in result.output, result.output
    result = runner.invoke(cli, ["audit", "checkpoints"])
    assert "第 1 号" in result.output and "签名有效" in result.output
    result = runner.invoke(cli, ["audit", "verify", "--all"])
    assert result.exit_code == 0 and "覆盖 1/1" in result.output and "签名已核验" in result.output
    _forge_opinion_free(session_factory, app_id)
    result = runner.invoke(cli, ["audit", "verify", "--all"])
    assert result.exit_code == 1 and f"申请书 {app_id}：【与签名检查点不符】第 1 条记录" in result.output
    in_processes = runner.invoke(cli, ["audit", "verify", "--all", "--workers", "2"])
    assert (
        in_processes.exit_code == 1 and in_processes.output == result.output
    )  # signed log checked there too


def test_verify_in_processes_finds_what_one_process_finds(session_factory, apps, keys, database_url):
    """`verify --all --workers W` runs the very same check per application, in other processes: each tamper
    class gives the same problems as verifying in this process (and none is lost between them)."""
    alice, carol = apps["alice"], apps["carol"]
    _edit_state(session_factory, alice, lambda st: st["data"].update(receipt_number="CQ2020-9999"))
    with session_factory() as s:
        s.execute(
            update(HistoryEvent)
            .where(HistoryEvent.application_id == carol, HistoryEvent.seq == 2)
            .values(data_json=HistoryEvent.data_json + " ")
        )
        s.execute(update(ApplicationRow).where(ApplicationRow.id == alice).values(stage="tier3_review"))
        s.commit()
    ids = sorted(apps.values())
    with session_factory() as s:
        here = {i: sorted(map(str, verify_application(s, i, keys["public"]).problems)) for i in ids}
    pem = keys["public_path"].read_bytes()
    there = {
        i: sorted(map(str, r.problems)) for i, r in verify_in_processes(database_url, ids, pem, 2, chunk=1)
    }
    assert there == here
    assert "【流程状态被改动】" in " ".join(here[alice]) and "【索引与重放不一致】" in " ".join(here[alice])
    assert "【哈希链断裂】" in " ".join(here[carol]), here


def _forge_opinion_free(session_factory, app_id):
    """Change who started the application in its genesis event, re-hashing the chain."""
    with session_factory() as s:
        event = s.scalar(select(HistoryEvent).where(HistoryEvent.application_id == app_id))
        data = json.loads(event.data_json)
        data["applicant_name"] = "王五"
        event.data_json = history.canonical_json(data)
        s.execute(update(ApplicationRow).where(ApplicationRow.id == app_id).values(applicant_name="王五"))
        _rehash_and_regenerate(s, app_id, 1)


def test_cli_verify_print(session_factory, apps, database_url, monkeypatch):
    from click.testing import CliRunner

    from engine.audit.prints import verification_code
    from webapp.cli import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    with session_factory() as s:
        code_then = (
            f"{apps['alice']}-"
            + s.scalar(
                select(HistoryEvent.hash).where(
                    HistoryEvent.application_id == apps["alice"], HistoryEvent.seq == 3
                )
            )[:10].upper()
        )
        code_now = verification_code(s, apps["alice"])
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "verify-print", code_now])
    assert result.exit_code == 0 and "当前记录一致" in result.output
    result = runner.invoke(cli, ["audit", "verify-print", code_then])
    assert result.exit_code == 0 and "此后又有 1 条记录" in result.output and "定时器触发" in result.output
    result = runner.invoke(cli, ["audit", "verify-print", f"{apps['alice']}-0000000000"])
    assert result.exit_code == 1 and "不符" in result.output
    result = runner.invoke(cli, ["audit", "verify-print", "garbage"])
    assert result.exit_code == 1 and "核验码格式" in result.output and "Traceback" not in result.output


def test_a_recorded_facts_change_is_accepted_and_an_unrecorded_one_is_not(session_factory, apps, keys, clock):
    """A correction of the applicant's name made through the history verifies; the same edit without it does not."""
    app_id = apps["carol"]
    with session_factory() as s:
        s.execute(update(ApplicationRow).where(ApplicationRow.id == app_id).values(applicant_name="卡罗尔"))
        s.commit()
    assert "facts" in kinds(verify(session_factory, app_id, keys))
    with session_factory() as s:
        history.append(
            s,
            app_id,
            at=clock.now(),
            event_type="facts_changed",
            data={"facts": {"applicant_name": "卡罗尔"}},
        )
        s.commit()
    result = verify(session_factory, app_id, keys)
    assert result.ok, [str(p) for p in result.problems]
