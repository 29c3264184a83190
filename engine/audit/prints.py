"""Verification codes on printed forms: does this sheet of paper match the record, and what happened since?

A printed 评审表 or 公示表 carries `APP-PREFIX`: the application id and the first 10 hex digits (upper case)
of its chain head when it was printed. Every event's hash depends on all before it, so the prefix names
one point of the history; `check_print` finds it (or says the printout matches no recorded state) and
lists the events that followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import timefmt
from engine.errors import FormInvalid, NotFound
from engine.store import history
from engine.store.services import deployment_for
from engine.store.tables import ApplicationRow, HistoryEvent

from .queries import EVENT_LABELS as _EVENT_LABELS

# 40 bits: short enough to type from paper. Finding another history with the same prefix costs about 2^40
# hashes, and that history would still fail `audit verify` against the signed checkpoints.
PREFIX_DIGITS = 10
_CODE = re.compile(rf"^\s*(\d{{1,12}})\s*-\s*([0-9A-Fa-f]{{{PREFIX_DIGITS}}})\s*$")
_DECISIONS = {"approve": "通过", "return": "退回", "not_recommend": "不予上报"}


def verification_code(session: Session, app_id: int) -> str:
    """The code to print now: application id and the prefix of its current chain head. Raises NotFound."""
    head = session.scalar(
        select(HistoryEvent.hash)
        .where(HistoryEvent.application_id == app_id)
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    )
    if head is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    return f"{app_id}-{head[:PREFIX_DIGITS].upper()}"


def parse_code(code: str) -> tuple[int, str]:
    """(application id, lower-case prefix). Raises FormInvalid naming the field."""
    match = _CODE.match(code or "")
    if not match:
        message = f"核验码格式应为“申请书编号-{PREFIX_DIGITS}位字母数字”，例如 123-1A2B3C4D5E"
        raise FormInvalid({"code": message}, message=message)
    return int(match.group(1)), match.group(2).lower()


@dataclass
class PrintCheck:
    application_id: int
    matches: bool
    summary: str
    seq: int | None = None  # the event the printout shows the record after
    total: int = 0
    later: list[str] = field(default_factory=list)
    chain_ok: bool = True


def _describe(event, labels: dict[str, str]) -> str:
    when = timefmt.instant(event.at)
    what = _EVENT_LABELS.get(event.event_type, event.event_type)
    stage = labels.get(event.stage or "", "")  # an unlabelled id (a timer's) is not shown
    decision = _DECISIONS.get((event.data.get("form") or {}).get("decision", ""), "")
    return " ".join(p for p in (f"第 {event.seq} 条", when, stage, what, decision) if p)


def check_print(session: Session, code: str, row: ApplicationRow | None = None) -> PrintCheck:
    """Whether a printed code matches the record. Raises FormInvalid (bad code) or NotFound."""
    app_id, prefix = parse_code(code)
    if row is None:
        row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    events = history.events(session, app_id)
    chain = history.verify_chain(session, app_id)
    at = next((e for e in events if e.hash.startswith(prefix)), None)
    if at is None:
        return PrintCheck(
            app_id,
            False,
            f"核验码与申请书 {app_id} 的任何一个记录状态都不符：打印件不是本系统打印的，或记录已被改动",
            total=len(events),
            chain_ok=chain.ok,
        )
    labels = deployment_for(session, row.deployment_id).model.labels()
    later = [_describe(e, labels) for e in events if e.seq > at.seq]
    when = timefmt.instant(at.at)
    if later:
        summary = f"打印件与申请书 {app_id} 在第 {at.seq} 条记录（{when}）时的记录一致；此后又有 {len(later)} 条记录"
    else:
        summary = f"打印件与申请书 {app_id} 的当前记录一致（第 {at.seq} 条记录，{when}，此后没有新的办理）"
    if not chain.ok:
        summary += f"；但该申请书的哈希链在第 {chain.broken_seq} 条记录处断裂，请做完整核验"
    return PrintCheck(app_id, chain.ok, summary, at.seq, len(events), later, chain.ok)
