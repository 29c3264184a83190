"""`audit verify`: everything stored that carries meaning, checked against the history and the signed log.

For each application, in this order: its deployment's sources re-hashed against the deployment id; the hash
chain; the events against the latest checkpoint signed by the auditors' key (logcheck); the row's facts
against the genesis event (facts); then a replay on the verified deployment, compared with the stored
workflow state (task tree and workflow-level data), the row's derived columns and the work items.
A `Verifier` reads the log and checks each deployment once, so `--all` pays for them once.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.deployment import Deployment, build_deployment, content_hash
from engine.errors import ZhichengError
from engine.runtime import Application
from engine.store import history
from engine.store.indexes import summary_fields
from engine.store.tables import ApplicationRow, DeploymentRow, WorkflowState, WorkItem

from .facts import compare_facts, row_facts
from .logcheck import LogView, load_log
from .problems import Problem
from .replay import canonical_state, compare_canonical, replay


@dataclass
class VerifyResult:
    application_id: int
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    checkpoint_id: int | None = None  # the checkpoint that covers it, if any
    checkpoint_seq: int | None = None  # its head when that checkpoint was made
    log_problems: list[Problem] = field(default_factory=list)  # of the whole log (verify_application only)
    signatures_checked: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def recorded_events(session: Session, app_id: int):
    return history.events(session, app_id)


ROW_DERIVED = (
    ("status", "状态"),
    ("stage", "环节"),
    ("waiting_org_id", "等待机构"),
    ("deadline", "截止时间"),
    ("actionable_from", "可办理时间"),
    ("responsible_org_id", "责任机构"),
    ("series", "申报系列"),
    ("title_sought", "申报职称"),
)


class Verifier:
    """Verify applications of one database against one public key (None: signatures not checked)."""

    def __init__(self, session: Session, public_key=None):
        self.session = session
        self.public_key = public_key
        self.log: LogView = load_log(session, public_key)
        self._deployments: dict[str, tuple[Deployment | None, list[Problem]]] = {}

    def deployment(self, deployment_id: str) -> tuple[Deployment | None, list[Problem]]:
        """The deployment rebuilt from its stored sources, once they hash to its id; else the problems."""
        if deployment_id not in self._deployments:
            self._deployments[deployment_id] = self._check_deployment(deployment_id)
        return self._deployments[deployment_id]

    def _check_deployment(self, deployment_id: str) -> tuple[Deployment | None, list[Problem]]:
        short = deployment_id[:12]
        row = self.session.get(DeploymentRow, deployment_id)
        if row is None:
            return None, [Problem("deployment", f"部署 {short} 不存在（被删除）")]
        try:
            sources = json.loads(row.sources_json)
        except json.JSONDecodeError:
            return None, [Problem("deployment", f"部署 {short} 的源文件不是合法的 JSON")]
        if not isinstance(sources, dict) or content_hash(sources) != deployment_id:
            return None, [
                Problem(
                    "deployment",
                    f"部署 {short} 的源文件与部署编号（内容哈希）不符：BPMN、表单或活动文件在部署后被改动",
                )
            ]
        try:
            deployment = build_deployment(sources)
        except ZhichengError as exc:
            return None, [Problem("deployment", f"部署 {short} 的源文件无法解析：{exc}")]
        problems = []
        if (row.campaign_id, row.process_id) != (deployment.campaign.id, deployment.process_id):
            problems.append(Problem("deployment", f"部署 {short} 的批次或流程编号与其源文件不符"))
        try:
            spec_ok = json.loads(row.spec_json) == json.loads(json.dumps(deployment.spec_json))
        except json.JSONDecodeError:
            spec_ok = False
        if not spec_ok:
            problems.append(Problem("deployment", f"部署 {short} 存储的流程定义与其源文件不符"))
        return deployment, problems

    def application(self, app_id: int) -> VerifyResult:
        """Check one application; every problem names its kind and, where known, the first event."""
        result = VerifyResult(app_id)
        row = self.session.get(ApplicationRow, app_id)
        if row is None:
            result.problems.append(Problem("facts", f"申请书（编号 {app_id}）不存在"))
            return result
        cov = self.log.coverage(app_id)
        if cov is not None:
            result.checkpoint_id, result.checkpoint_seq = cov.checkpoint_id, cov.seq
        deployment, dep_problems = self.deployment(row.deployment_id)
        result.problems.extend(dep_problems)
        chain, events = history.load_chain(self.session, app_id)
        result.events = chain.events
        result.problems.extend(self.log.check_application(app_id, {e.seq: e.hash for e in events}))
        if not chain.ok:
            result.problems.append(
                Problem("chain", f"第 {chain.broken_seq} 条记录：{chain.reason}", chain.broken_seq)
            )
            return result
        result.problems.extend(compare_facts(row_facts(self.session, row), events))
        head = (events[-1].seq, events[-1].hash) if events else (0, history.GENESIS)
        if row.head_seq is not None and (row.head_seq, row.head_hash) != head:
            result.problems.append(
                Problem("index", f"申请书记录的链头为第 {row.head_seq} 条，历史的链头为第 {head[0]} 条")
            )
        if deployment is None:
            return result
        # The stored state is a snapshot after event `seq` (engine/store/README.md; databases from before
        # snapshots: after the last event, seq 0 meaning the same): capture the replay's canonical state at
        # that event and compare the two. An application with fewer events than a snapshot interval has none
        # (its started event rebuilds it): nothing to compare.
        snapshot = self.session.execute(
            select(WorkflowState.state_json, WorkflowState.seq).where(WorkflowState.application_id == app_id)
        ).first()
        snapshot_seq = (snapshot.seq if snapshot else 0) or chain.events
        at_snapshot: list = []

        def capture(event, app):
            if event.seq == snapshot_seq:
                at_snapshot.append(canonical_state(app))

        replayed, divergence = replay(deployment, events, on_step=capture)
        if divergence:
            result.problems.append(Problem("replay", str(divergence), divergence.seq))
            return result
        stored = None
        if snapshot is not None and not at_snapshot:
            result.problems.append(
                Problem(
                    "state",
                    f"流程状态快照标注在第 {snapshot_seq} 条记录之后，但历史记录只有 {chain.events} 条",
                )
            )
        elif snapshot is not None:
            try:
                stored = Application.restore(deployment, snapshot.state_json, replayed.clock)
            except Exception as exc:  # noqa: BLE001 - a tampered state may fail to load in any way
                result.problems.append(Problem("state", f"存储的流程状态无法读取：{type(exc).__name__}"))
        if stored is not None:
            diff = compare_canonical(at_snapshot[0], canonical_state(stored))
            if diff:
                result.problems.append(Problem("state", str(diff)))
        if events and (row.head_seq, row.head_hash) != (events[-1].seq, events[-1].hash):
            result.problems.append(
                Problem(
                    "index",
                    f"申请书记录的末条记录为第 {row.head_seq} 条，历史记录末条为第 {events[-1].seq} 条",
                )
            )
        result.problems.extend(compare_row({k: getattr(row, k) for k, _ in ROW_DERIVED}, replayed))
        items = sorted(
            (w.stage, w.org_id, w.deadline)
            for w in self.session.scalars(select(WorkItem).where(WorkItem.application_id == app_id))
        )
        expected = sorted((t.stage, t.org_id, t.deadline) for t in replayed.ready_tasks())
        if items != expected:
            result.problems.append(
                Problem("index", f"待办索引与重放结果不一致：存储 {items}，重放 {expected}")
            )
        return result

    def vanished(self, app_ids: set[int]) -> list[tuple[int, Problem]]:
        """Applications the log knows that the database no longer holds."""
        return [
            (a, Problem("checkpoint", f"申请书 {a} 已不存在，而检查点记录了它的 {len(e)} 条记录（被删除）"))
            for a, e in sorted(self.log.by_app.items())
            if a not in app_ids
        ]


def compare_row(values: dict, replayed: Application, kind: str = "index") -> list[Problem]:
    """The row's columns that follow from the workflow (`values`), against the replayed workflow."""
    status = replayed.status()
    derived = summary_fields(replayed)
    want_all = {**{k: None for k, _ in ROW_DERIVED}, **derived}
    want_all["status"], want_all["stage"] = status.status, status.stage
    problems = []
    for key, label in ROW_DERIVED:
        want, got = want_all[key], values.get(key)
        if want != got:
            problems.append(Problem(kind, f"申请书的{label}为 {got}，重放结果为 {want}"))
    return problems


def verify_application(session: Session, app_id: int, public_key=None) -> VerifyResult:
    """Check one application (reads the checkpoint log once); the log's own problems ride along."""
    verifier = Verifier(session, public_key)
    result = verifier.application(app_id)
    result.log_problems = list(verifier.log.problems)
    result.signatures_checked = verifier.log.signatures_checked
    return result


def all_application_ids(session: Session) -> list[int]:
    return list(session.scalars(select(ApplicationRow.id).order_by(ApplicationRow.id)))


_VERIFY: dict = {}


def _verify_init(database_url: str, public_key_pem: bytes | None) -> None:
    from sqlalchemy.orm import sessionmaker

    from engine.db import make_engine

    from .signing import parse_public_key

    session = sessionmaker(make_engine(database_url))()
    key = parse_public_key(public_key_pem) if public_key_pem else None
    _VERIFY["verifier"] = Verifier(session, key)


def _verify_chunk(ids: list[int]) -> list[tuple[int, VerifyResult | str]]:
    verifier: Verifier = _VERIFY["verifier"]
    out: list[tuple[int, VerifyResult | str]] = []
    for app_id in ids:
        try:
            out.append((app_id, verifier.application(app_id)))
        except ZhichengError as exc:
            out.append((app_id, str(exc)))
    verifier.session.rollback()  # end the read transaction and let the identity map go between chunks
    return out


def verify_in_processes(
    database_url: str, ids: list[int], public_key_pem: bytes | None, workers: int, chunk: int = 50
) -> Iterator[tuple[int, VerifyResult | str]]:
    """Verify `ids` in `workers` processes, each with its own engine and Verifier (every application is the
    same full check as `Verifier.application`: chain, checkpoints, facts, whole replay, snapshot, row and
    work items). Yields (id, result or the error message) in the order of `ids`."""
    chunks = [ids[i : i + chunk] for i in range(0, len(ids), chunk)]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine or session inherited
    with context.Pool(workers, initializer=_verify_init, initargs=(database_url, public_key_pem)) as pool:
        for results in pool.imap(_verify_chunk, chunks):
            yield from results
