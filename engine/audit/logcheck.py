"""Check the checkpoint log against the auditors' public key, and each application against the log.

`load_log` accepts a checkpoint only if it is signed by the given key; it checks that consecutive accepted
checkpoints are consistent (the stored RFC 9162 proofs) and that the stored leaves still hash to the latest
accepted root. `LogView.check_application` then compares an application's stored events with what that
checkpoint committed to: the first event whose hash differs (or that is gone) is named, which catches a
forger who rewrote history and recomputed every hash — they do not hold the signing key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import timefmt

from . import merkle, signing
from .checkpoints import LogTampered, entry_leaf, load_leaves
from .problems import Problem
from .tables import Checkpoint


@dataclass(frozen=True)
class Coverage:
    """What the latest accepted checkpoint says about one application: its head then, and the proof."""

    checkpoint_id: int
    at: datetime
    tree_size: int
    root_hash: str
    seq: int
    head_hash: str
    leaf_index: int
    proof: tuple[str, ...]
    entries: tuple[tuple[int, int, str], ...]  # (leaf index, seq, event hash) of every logged event


def _when(at: datetime) -> str:
    return timefmt.instant(at)


@dataclass
class LogView:
    latest: Checkpoint | None = None  # the latest checkpoint signed by the given key (or any, without a key)
    checkpoints: int = 0
    refused: int = 0
    signatures_checked: bool = False
    problems: list[Problem] = field(default_factory=list)
    by_app: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    tree: merkle.MerkleTree | None = None

    @property
    def trusted(self) -> bool:
        """Whether the leaves still match the latest accepted root (else per-application checks are moot)."""
        return self.tree is not None

    def coverage(self, app_id: int) -> Coverage | None:
        entries = self.by_app.get(app_id)
        if not entries or self.latest is None or self.tree is None:
            return None
        leaf_index, seq, head = entries[-1]
        return Coverage(
            self.latest.id,
            self.latest.at,
            self.latest.tree_size,
            self.latest.root_hash,
            seq,
            head,
            leaf_index,
            tuple(p.hex() for p in self.tree.inclusion_proof(leaf_index)),
            tuple(entries),
        )

    def check_application(self, app_id: int, stored: dict[int, str]) -> list[Problem]:
        """Compare stored event hashes {seq: hash} with the checkpoint: first differing event, head proof."""
        cov = self.coverage(app_id)
        if cov is None:
            return []
        return check_against(app_id, stored, cov)


def check_against(app_id: int, stored: dict[int, str], cov: Coverage) -> list[Problem]:
    """The database and the bundle share this: logged events must be stored unchanged; the head proven."""
    where = f"第 {cov.checkpoint_id} 号检查点（{_when(cov.at)}）"
    for expected, (_, seq, logged) in enumerate(sorted(cov.entries, key=lambda e: e[1]), start=1):
        if seq != expected:
            return [Problem("log", f"{where}的日志缺少第 {expected} 条记录的条目")]
        if seq not in stored:
            return [Problem("checkpoint", f"第 {seq} 条记录已不存在，而{where}已记录它（记录被删除）", seq)]
        if stored[seq] != logged:
            return [
                Problem(
                    "checkpoint",
                    f"第 {seq} 条记录与{where}记录的不同：历史在签名之后被改写（即使重算了全部哈希）",
                    seq,
                )
            ]
    leaf = entry_leaf(app_id, cov.seq, cov.head_hash)
    proof = [bytes.fromhex(p) for p in cov.proof]
    if not merkle.verify_inclusion(cov.leaf_index, cov.tree_size, leaf, proof, bytes.fromhex(cov.root_hash)):
        return [Problem("checkpoint", f"第 {cov.seq} 条记录不在{where}的默克尔树中（包含证明不成立）")]
    return []


def checkpoint_signed(cp, public_key) -> bool:
    """Whether `cp` (a row or any object with the same fields) is signed by `public_key`."""
    if cp.key_id != signing.key_id(public_key):
        return False
    message = signing.checkpoint_message(cp.tree_size, cp.root_hash, cp.at, cp.key_id)
    return signing.signature_valid(public_key, message, cp.signature)


def load_log(session: Session, public_key=None) -> LogView:
    """Read and check the whole log once; `public_key` None checks everything but the signatures."""
    view = LogView(signatures_checked=public_key is not None)
    rows = list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))
    view.checkpoints = len(rows)
    accepted = []
    for cp in rows:
        if public_key is not None and not checkpoint_signed(cp, public_key):
            view.refused += 1
            view.problems.append(
                Problem(
                    "log",
                    f"第 {cp.id} 号检查点（{_when(cp.at)}）不是由所给公钥签署（签名密钥 {cp.key_id}，"
                    f"应为 {signing.key_id(public_key)}）：不予采信",
                )
            )
            continue
        accepted.append(cp)
    if not accepted:
        return view
    try:
        leaves = load_leaves(session)
    except LogTampered as exc:
        view.problems.append(Problem("log", str(exc)))
        return view
    hashes = [entry_leaf(*leaf) for leaf in leaves]
    for before, after in zip(accepted, accepted[1:], strict=False):
        if after.tree_size < before.tree_size or after.at < before.at:
            view.problems.append(
                Problem("log", f"第 {after.id} 号检查点比第 {before.id} 号更小或更早：日志不是只增的")
            )
            continue
        if after.previous_size == before.tree_size:
            ok = merkle.verify_consistency(
                before.tree_size,
                after.tree_size,
                bytes.fromhex(before.root_hash),
                bytes.fromhex(after.root_hash),
                [bytes.fromhex(p) for p in json.loads(after.consistency_json)],
            )
        else:  # a refused checkpoint lay between: check the prefix against the leaves instead
            ok = (
                len(hashes) >= before.tree_size
                and merkle.root_of(hashes[: before.tree_size]).hex() == before.root_hash
            )
        if not ok:
            view.problems.append(
                Problem("log", f"第 {after.id} 号检查点不能证明包含第 {before.id} 号检查点的全部内容")
            )
    last = accepted[-1]
    view.latest = last
    if len(hashes) < last.tree_size:
        view.problems.append(
            Problem(
                "log", f"检查点日志只剩 {len(hashes)} 项，第 {last.id} 号检查点签署了 {last.tree_size} 项"
            )
        )
        return view
    tree = merkle.MerkleTree(hashes[: last.tree_size])
    if tree.root.hex() != last.root_hash:
        view.problems.append(
            Problem("log", f"检查点日志的内容与第 {last.id} 号检查点签署的根哈希不符（日志被改写）")
        )
        return view
    if len(hashes) > last.tree_size and not view.refused:
        view.problems.append(
            Problem("log", f"检查点日志中有 {len(hashes) - last.tree_size} 项未被任何检查点签署")
        )
    view.tree = tree
    for index, (app_id, seq, event_hash) in enumerate(leaves[: last.tree_size]):
        view.by_app.setdefault(app_id, []).append((index, seq, event_hash))
    return view


def parse_known(text: str) -> tuple[int, str]:
    """`SIZE:ROOT` as `zhicheng audit checkpoints` prints it. Raises ValueError with a Chinese reason."""
    size, _, root = (text or "").strip().partition(":")
    if (
        not size.isdigit()
        or int(size) < 1
        or len(root) != 64
        or any(c not in "0123456789abcdef" for c in root)
    ):
        raise ValueError(
            "应为“日志大小:根哈希”（64 位小写十六进制），即 zhicheng audit checkpoints 显示的那一行"
        )
    return int(size), root


def check_known(session: Session, size: int, root_hash: str) -> list[Problem]:
    """Does today's log still begin with the tree an auditor saw earlier? Catches a rollback of log and
    checkpoints together, which signatures alone cannot (every rolled-back checkpoint was genuinely signed)."""
    try:
        leaves = load_leaves(session)
    except LogTampered as exc:
        return [Problem("log", str(exc))]
    if len(leaves) < size or merkle.root_of([entry_leaf(*leaf) for leaf in leaves[:size]]).hex() != root_hash:
        return [
            Problem(
                "log",
                f"检查点日志不再以审计人员保存的检查点（{size} 项，根 {root_hash[:16]}…）开头：日志被回滚或改写",
            )
        ]
    return []
