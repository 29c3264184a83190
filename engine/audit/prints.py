"""Printed forms: what the 评审表 and 公示表 say, and whether a sheet of paper matches the record.

`review_sheet` reads the history into what offices file: each review round (latest first) with every
opinion, reviewer and date, the opinions still in force marked for a signature/stamp block, and the
公示时间 (from the approval to the notice end's last day). Labels come from the deployment's stage model
and forms (engine.labels): no list of stages or decisions here.

A printed 评审表 or 公示表 carries `APP-PREFIX`: the application id and the first 10 hex digits (upper case)
of its chain head when it was printed. Every event's hash depends on all before it, so the prefix names
one point of the history; `check_print` finds it (or says the printout matches no recorded state) and
lists the events that followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import labels, timefmt
from engine.accounts.models import Org
from engine.errors import FormInvalid, NotFound
from engine.store import history
from engine.store.services import deployment_for
from engine.store.tables import ApplicationRow, HistoryEvent

from .queries import EVENT_LABELS as _EVENT_LABELS

# 40 bits: short enough to type from paper. Finding another history with the same prefix costs about 2^40
# hashes, and that history would still fail `audit verify` against the signed checkpoints.
PREFIX_DIGITS = 10
_CODE = re.compile(rf"^\s*(\d{{1,12}})\s*-\s*([0-9A-Fa-f]{{{PREFIX_DIGITS}}})\s*$")


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


def _describe(event, deployment) -> str:
    when = timefmt.instant(event.at)
    what = _EVENT_LABELS.get(event.event_type, event.event_type)
    stage = deployment.model.labels().get(event.stage or "", "")  # an unlabelled id (a timer's) is not shown
    decision = labels.decision_label(deployment, event.stage, (event.data.get("form") or {}).get("decision"))
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
    deployment = deployment_for(session, row.deployment_id)
    later = [_describe(e, deployment) for e in events if e.seq > at.seq]
    when = timefmt.instant(at.at)
    if later:
        summary = f"打印件与申请书 {app_id} 在第 {at.seq} 条记录（{when}）时的记录一致；此后又有 {len(later)} 条记录"
    else:
        summary = f"打印件与申请书 {app_id} 的当前记录一致（第 {at.seq} 条记录，{when}，此后没有新的办理）"
    if not chain.ok:
        summary += f"；但该申请书的哈希链在第 {chain.broken_seq} 条记录处断裂，请做完整核验"
    return PrintCheck(app_id, chain.ok, summary, at.seq, len(events), later, chain.ok)


# ---- what the printed forms say ----------------------------------------------------------------


@dataclass(frozen=True)
class Opinion:
    """One reviewer's decision on the 评审表: stage, org, result, opinion or reason, who and when."""

    stage: str
    stage_label: str
    org_id: int | None
    org_name: str
    decision_label: str
    opinion: str
    reason: str
    actor_name: str
    at: datetime
    in_force: bool  # the stage's latest word: it gets the signature/stamp block


@dataclass(frozen=True)
class ReviewRound:
    """The reviews that followed one submission (round 1) or one resubmission after a return."""

    number: int
    submitted_at: datetime | None
    opinions: tuple[Opinion, ...]


@dataclass(frozen=True)
class ReviewSheet:
    rounds: tuple[ReviewRound, ...]  # latest first
    notice_period: str  # 公示时间, e.g. 2020年11月26日至2020年12月3日; "" before the notice ran


def review_sheet(session: Session, app_id: int) -> ReviewSheet:
    """The reviews of an application as the printed forms show them. Raises NotFound."""
    row = session.get(ApplicationRow, app_id)
    if row is None:
        raise NotFound(f"申请书（编号 {app_id}）不存在", application_id=app_id)
    deployment = deployment_for(session, row.deployment_id)
    model = deployment.model
    events = history.events(session, app_id)
    latest = {e.stage: e.seq for e in events if e.event_type == "completed"}  # a stage's last word
    org_names = dict(
        session.execute(select(Org.id, Org.name).where(Org.id.in_({e.org_id for e in events}))).all()
    )
    rounds: list[ReviewRound] = []
    opinions: list[Opinion] = []
    submitted_at = None
    for e in events:
        if e.event_type != "completed" or e.stage not in model.stages:
            continue
        if model.stages[e.stage].by_applicant:
            if submitted_at is not None or opinions:
                rounds.append(ReviewRound(len(rounds) + 1, submitted_at, tuple(opinions)))
            submitted_at, opinions = e.at, []
            continue
        form = e.data.get("form") or {}
        opinions.append(
            Opinion(
                e.stage,
                model.label(e.stage),
                e.org_id,
                org_names.get(e.org_id, ""),
                labels.decision_label(deployment, e.stage, form.get("decision")),
                str(form.get("opinion") or ""),
                str(form.get("reason") or ""),
                e.data.get("actor_name", ""),
                e.at,
                latest.get(e.stage) == e.seq,
            )
        )
    if submitted_at is not None or opinions:
        rounds.append(ReviewRound(len(rounds) + 1, submitted_at, tuple(opinions)))
    return ReviewSheet(tuple(reversed(rounds)), _notice_period(model, events, row))


def _notice_period(model, events, row: ApplicationRow) -> str:
    """From the approval that started the public notice to the notice's last day: the notice running now
    (its end is the application's deadline), else the latest one that ran (its timer's due time)."""
    ends: list[tuple[int, str, datetime]] = []  # (events before it, wait id, end)
    if row.stage in model.waits and row.deadline is not None:
        ends.append((len(events), row.stage, row.deadline))
    for i in range(len(events) - 1, -1, -1):
        e = events[i]
        if e.event_type == "timer_fired" and e.stage in model.waits and e.data.get("due_at"):
            ends.append((i, e.stage, datetime.fromisoformat(e.data["due_at"])))
    for i, wait_id, end in ends:
        after = model.waits[wait_id].after_stage
        started = next(
            (p.at for p in reversed(events[:i]) if p.event_type == "completed" and p.stage == after), None
        )
        if started is not None:
            return f"{timefmt.day_cn(started)}至{timefmt.day_cn(timefmt.last_day(end))}"
    return ""
