"""Offline audit bundles: one JSON file that proves one application's record with no database.

Format `zhicheng-audit-bundle/2` (README "Auditors"; structure in bundle.schema.json): `application` (the
row's facts and derived columns), `deployment` (`id` = content hash of `sources`), `events` (the hash chain),
`state` (the stored workflow state), `versions`, `checkpoint` (the latest signed tree head covering the
application, or null) and `proof` (for every logged event of the application: its leaf index, seq, hash
and RFC 9162 inclusion path in that checkpoint's tree).

`verify_bundle` checks, with only the installed package and the auditors' public key: the structure; the
deployment hash and that it is the deployment the genesis event names; the chain; the checkpoint signature
and every inclusion proof, and that the bundled events match what was logged (naming the first that does
not); the row facts against the genesis event; a replay against the state and the summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from types import SimpleNamespace

import jsonschema
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deployment import build_deployment, content_hash
from engine.errors import NotFound, ZhichengError
from engine.events import RecordedEvent
from engine.runtime import Application
from engine.store import history
from engine.store.tables import ApplicationRow, DeploymentRow, HistoryEvent, WorkflowState

from . import merkle
from .checkpoints import entry_leaf
from .facts import compare_facts, row_facts
from .logcheck import Coverage, check_against, checkpoint_signed, load_log
from .problems import Problem
from .replay import canonical_state, compare_canonical, replay
from .verify import ROW_DERIVED, compare_row

FORMAT = "zhicheng-audit-bundle/2"
VERSIONED = {"spiffworkflow": "SpiffWorkflow", "holidays": "holidays", "zhicheng": "zhicheng"}
_DATETIMES = ("created_at", "deadline", "actionable_from")


class BundleError(ZhichengError):
    """The file is not a bundle this version can read; the message says where it is malformed."""


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def export_bundle(session: Session, app_id: int) -> dict:
    """Everything needed to verify one application offline. Raises NotFound."""
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在")
    deployment = session.get(DeploymentRow, row.deployment_id)
    events = session.scalars(
        select(HistoryEvent).where(HistoryEvent.application_id == app_id).order_by(HistoryEvent.seq)
    )
    snapshot = session.execute(
        select(WorkflowState.state_json, WorkflowState.seq).where(WorkflowState.application_id == app_id)
    ).first()
    log = load_log(session)
    cov = log.coverage(app_id)
    checkpoint = proof = None
    if cov is not None:
        cp = log.latest
        checkpoint = {
            "id": cp.id,
            "tree_size": cp.tree_size,
            "root_hash": cp.root_hash,
            "at": cp.at.isoformat(),
            "key_id": cp.key_id,
            "signature": cp.signature,
        }
        proof = [
            {"leaf_index": i, "seq": seq, "hash": h, "path": [p.hex() for p in log.tree.inclusion_proof(i)]}
            for i, seq, h in cov.entries
        ]
    facts = {k: _iso(v) for k, v in row_facts(session, row).items()}
    derived = {k: _iso(getattr(row, k)) for k, _ in ROW_DERIVED}
    return {
        "format": FORMAT,
        "application": {"id": row.id, **facts, **derived},
        "deployment": {"id": deployment.id, "sources": json.loads(deployment.sources_json)},
        "events": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor_id": e.actor_id,
                "org_id": e.org_id,
                "event_type": e.event_type,
                "stage": e.stage,
                "data": json.loads(e.data_json),
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in events
        ],
        "state": snapshot.state_json if snapshot else None,
        "state_seq": snapshot.seq if snapshot else None,  # the event the state snapshot follows
        "versions": {k: _version(p) for k, p in VERSIONED.items()},
        "checkpoint": checkpoint,
        "proof": proof,
    }


@dataclass
class BundleOutcome:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    events: int = 0
    deployment_id: str = ""
    checkpoint_verified: bool = False


def _schema() -> dict:
    return json.loads(files("engine.audit").joinpath("bundle.schema.json").read_text(encoding="utf-8"))


def _check_structure(bundle) -> None:
    if not isinstance(bundle, dict):
        raise BundleError("不是审计包（应为 JSON 对象）")
    fmt = bundle.get("format")
    if fmt != FORMAT:
        raise BundleError(f"审计包格式为 {fmt!r}，本版本只核验 {FORMAT}：请用本版本重新导出")
    errors = sorted(
        jsonschema.Draft202012Validator(_schema(), format_checker=jsonschema.FormatChecker()).iter_errors(
            bundle
        ),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "（顶层）"
        raise BundleError(f"审计包结构有误：{where}：{errors[0].message}")


def _events(bundle: dict, app_id: int, outcome: BundleOutcome) -> list[RecordedEvent] | None:
    """The bundled events with their chain re-hashed; None (and a problem) at the first broken link."""
    prev, events = history.GENESIS, []
    for expected, e in enumerate(bundle["events"], start=1):
        at = datetime.fromisoformat(e["at"])
        recomputed = history.event_hash(
            application_id=app_id,
            seq=e["seq"],
            at=at,
            actor_id=e["actor_id"],
            org_id=e["org_id"],
            event_type=e["event_type"],
            stage=e["stage"],
            data_json=history.canonical_json(e["data"]),
            prev_hash=e["prev_hash"],
        )
        if e["seq"] != expected or e["prev_hash"] != prev or recomputed != e["hash"]:
            outcome.problems.append(Problem("chain", f"第 {e['seq']} 条记录：哈希链断裂", e["seq"]))
            return None
        prev = e["hash"]
        events.append(
            RecordedEvent(
                e["seq"], at, e["actor_id"], e["org_id"], e["event_type"], e["stage"], e["data"], e["hash"]
            )
        )
    return events


def _check_checkpoint(bundle: dict, app_id: int, public_key, outcome: BundleOutcome) -> None:
    cp, entries = bundle["checkpoint"], bundle["proof"]
    if cp is None or entries is None:
        if public_key is not None:
            outcome.problems.append(
                Problem(
                    "checkpoint",
                    "审计包没有签名检查点，无法证明历史未被整体改写（申请书若在最近的检查点之后才创建，"
                    "请在下一个检查点之后重新导出）",
                )
            )
        return
    at = datetime.fromisoformat(cp["at"])
    if public_key is None:
        outcome.notes.append("未提供公钥（--public-key），检查点签名未核验")
    elif not checkpoint_signed(SimpleNamespace(**{**cp, "at": at}), public_key):
        outcome.problems.append(Problem("checkpoint", f"第 {cp['id']} 号检查点不是由所给公钥签署：不予采信"))
        return
    root = bytes.fromhex(cp["root_hash"])
    for entry in entries:
        leaf = entry_leaf(app_id, entry["seq"], entry["hash"])
        path = [bytes.fromhex(p) for p in entry["path"]]
        if not merkle.verify_inclusion(entry["leaf_index"], cp["tree_size"], leaf, path, root):
            outcome.problems.append(
                Problem(
                    "checkpoint",
                    f"第 {entry['seq']} 条记录的包含证明不成立（证明或记录被改动）",
                    entry["seq"],
                )
            )
            return
    head = max(entries, key=lambda e: e["seq"])
    cov = Coverage(
        cp["id"],
        at,
        cp["tree_size"],
        cp["root_hash"],
        head["seq"],
        head["hash"],
        head["leaf_index"],
        tuple(head["path"]),
        tuple((e["leaf_index"], e["seq"], e["hash"]) for e in entries),
    )
    stored = {e["seq"]: e["hash"] for e in bundle["events"]}
    found = check_against(app_id, stored, cov)
    outcome.problems.extend(found)
    outcome.checkpoint_verified = public_key is not None and not found


def _summary(app: dict) -> dict:
    values = dict(app)
    for key in _DATETIMES:
        if isinstance(values.get(key), str):
            values[key] = datetime.fromisoformat(values[key])
    return values


def verify_bundle(bundle, public_key=None) -> BundleOutcome:
    """Check a bundle offline. Raises BundleError when it is not a readable bundle at all."""
    _check_structure(bundle)
    outcome = BundleOutcome(events=len(bundle["events"]), deployment_id=bundle["deployment"]["id"])
    for key, package in VERSIONED.items():
        installed = _version(package)
        if bundle["versions"][key] != installed:
            outcome.notes.append(f"审计包由 {package} {bundle['versions'][key]} 导出，本机为 {installed}")
    app = _summary(bundle["application"])
    app_id = app["id"]
    sources, dep_id = bundle["deployment"]["sources"], bundle["deployment"]["id"]
    if content_hash(sources) != dep_id:
        outcome.problems.append(
            Problem("deployment", "部署源文件与部署编号（内容哈希）不符：BPMN、表单或活动文件被改动")
        )
    _check_checkpoint(bundle, app_id, public_key, outcome)
    events = _events(bundle, app_id, outcome)
    if events is None:
        return outcome
    genesis_dep = events[0].data.get("deployment_id")
    if genesis_dep != dep_id:
        outcome.problems.append(
            Problem("deployment", f"审计包的部署 {dep_id[:12]} 不是创建记录所载的部署（部署被替换）", 1)
        )
    summary_problems = compare_facts(app, events)
    outcome.problems.extend(Problem("bundle", p.message, p.seq) for p in summary_problems)
    if any(p.kind == "deployment" for p in outcome.problems):
        return outcome
    try:
        deployment = build_deployment(sources)
    except ZhichengError as exc:
        outcome.problems.append(Problem("deployment", f"部署源文件无法解析：{exc}"))
        return outcome
    # the state is a snapshot after event `state_seq` (absent or 0: after the last event); an application
    # younger than a snapshot interval has none (null): nothing to compare
    state_seq = bundle.get("state_seq") or len(events)
    at_snapshot: list = []

    def capture(event, app):
        if event.seq == state_seq:
            at_snapshot.append(canonical_state(app))

    replayed, divergence = replay(deployment, events, on_step=capture)
    if divergence:
        outcome.problems.append(Problem("replay", str(divergence), divergence.seq))
        return outcome
    stored, has_state = None, bundle.get("state") is not None
    if has_state and not at_snapshot:
        outcome.problems.append(
            Problem("state", f"流程状态快照标注在第 {state_seq} 条记录之后，但历史记录只有 {len(events)} 条")
        )
    elif has_state:
        try:
            stored = Application.restore(deployment, bundle["state"], replayed.clock)
        except Exception as exc:  # noqa: BLE001 - a forged state may fail to load in any way
            kind = "不是合法的 JSON" if isinstance(exc, ValueError) else f"无法读取（{type(exc).__name__}）"
            outcome.problems.append(Problem("state", f"审计包中的流程状态{kind}"))
    if stored is not None:
        diff = compare_canonical(at_snapshot[0], canonical_state(stored))
        if diff:
            outcome.problems.append(Problem("state", str(diff)))
    outcome.problems.extend(compare_row(app, replayed, kind="bundle"))
    return outcome
