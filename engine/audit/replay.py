"""Deterministic replay: re-execute an application's history on its pinned deployment and compare.

Task ids are random and Spiff's `last_state_change` is wall-clock, so states are compared in a canonical
form: the task tree in order, each task's spec name, state, data and timer values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from engine.clock import SimulatedClock
from engine.errors import ZhichengError
from engine.events import RecordedEvent
from engine.runtime import Actor, Application

REPLAY_ROLES = ("admin", "reviewer", "desk")


@dataclass(frozen=True)
class Divergence:
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"第 {self.seq} 条记录" if self.seq is not None else "最终状态"
        return f"{where}：{self.message}"


def canonical_state(app: Application, comparable=None) -> list:
    """The workflow as comparable data: its own data, then tasks in tree order with spec, state, data and
    timer values (the workflow-level data is where a forged receipt number would hide). `comparable` turns
    each data dict into its comparable form (default `_comparable`; the tests pass the plain JSON round trip
    it must equal)."""
    comparable = comparable or _comparable
    out = [["(workflow)", None, comparable(app.workflow.data), {}]]

    def walk(task):
        internal = {k: v for k, v in task.internal_data.items() if k in ("event_value", "event_fired")}
        out.append([task.task_spec.name, int(task.state), comparable(task.data), internal])
        for child in task.children:
            walk(child)

    walk(app.workflow.task_tree)
    return out


_SCALARS = (str, int, bool, type(None))


class _NotJson(Exception):
    pass


def _json_copy(value):
    """A copy of `value` made of JSON's own types (str-keyed dicts, lists, strings, ints, bools, None and
    finite floats); `_NotJson` for anything else."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise _NotJson
            out[k] = _json_copy(v)
        return out
    if kind is list:
        return [_json_copy(v) for v in value]
    if kind is float and value - value == 0:  # NaN and infinities do not survive a JSON round trip as such
        return value
    raise _NotJson


def _comparable(data):
    """Data as it compares after a JSON round trip (sorted keys, non-JSON values as text), detached from the
    workflow: a plain copy when the data is plain JSON already (the round trip would give an equal copy)."""
    try:
        return _json_copy(data)
    except _NotJson:
        return json.loads(json.dumps(data, sort_keys=True, default=str))


def replay(
    deployment, events: list[RecordedEvent], on_step=None
) -> tuple[Application | None, Divergence | None]:
    """Re-run `events` from the start; return the application and the first divergence, if any.

    `on_step(event, app)` is called after each event is applied (for timelines and step-by-step views).
    """
    if not events:
        return None, Divergence(None, "历史记录不是以“创建申请书”开始")
    app, divergence = start_from(deployment, events[0])
    if divergence:
        return None, divergence
    clock = app.clock
    if on_step:
        on_step(events[0], app)
    for event in events[1:]:
        divergence = apply_event(app, clock, event)
        if divergence:
            return app, divergence
        if on_step:
            on_step(event, app)
    return app, None


def start_from(deployment, first: RecordedEvent) -> tuple[Application | None, Divergence | None]:
    """The application as its `started` event created it, on a simulated clock at that event's time: the
    base of every replay (`audit verify`, and the store's rebuild of an application with no snapshot)."""
    if first.event_type != "started":
        return None, Divergence(first.seq, "历史记录不是以“创建申请书”开始")
    try:
        app = Application.start(
            deployment,
            SimulatedClock(first.at),
            applicant_id=first.actor_id,
            chain=first.data["chain"],
            committees=first.data.get("committees"),
        )
    except (ZhichengError, KeyError) as exc:
        return None, Divergence(first.seq, f"无法重新创建申请书：{exc}")
    app.reset_on_error = False  # replay stops at the first divergence: no undo snapshot before each event
    return app, None


def apply_event(app: Application, clock: SimulatedClock, event: RecordedEvent) -> Divergence | None:
    """Re-execute one recorded event on `app` at its recorded time; the divergence, if any.

    The one way an event is re-applied: `audit verify` replays whole histories with it and the store
    rebuilds a workflow from its latest snapshot plus the events after it (engine/store/live.py).
    """
    try:
        clock.set(event.at)
    except ValueError:
        return Divergence(event.seq, "记录时间早于前一条记录")
    try:
        if event.event_type == "completed":
            memberships = (
                frozenset((event.org_id, role) for role in REPLAY_ROLES) if event.org_id else frozenset()
            )
            actor = Actor(event.actor_id, memberships, event.data.get("actor_name", ""))
            app.complete(event.stage, actor, dict(event.data.get("form", {})))
        elif event.event_type == "timer_fired":
            app.advance()
            if any(t.name == event.stage for t in app.due_timers()):
                return Divergence(event.seq, f"定时器 {event.stage} 在记录的时间未到期")
        else:
            return None
    except ZhichengError as exc:
        return Divergence(event.seq, f"重放时操作被拒绝：{exc}")
    recorded = event.data.get("status")
    if recorded and app.status().status != recorded:
        return Divergence(event.seq, f"重放后状态为 {app.status().status}，记录为 {recorded}")
    return None


def compare_state(replayed: Application, stored: Application) -> Divergence | None:
    """Compare two workflows by their canonical state; say where they first differ."""
    return compare_canonical(canonical_state(replayed), canonical_state(stored))


def compare_canonical(a: list, b: list) -> Divergence | None:
    """Compare two canonical states (replayed first); say where they first differ."""
    if a == b:
        return None
    if a[0] != b[0]:
        return Divergence(None, "流程级数据与存储的流程状态不一致")
    for i, (x, y) in enumerate(zip(a[1:], b[1:], strict=False)):
        if x != y:
            return Divergence(None, f"任务 {x[0]} 的状态或数据与存储的流程状态不一致（第 {i + 1} 个任务）")
    return Divergence(None, f"任务数量不一致：重放 {len(a) - 1}，存储 {len(b) - 1}")
