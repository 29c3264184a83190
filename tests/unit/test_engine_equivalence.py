"""The engine's shortcuts over SpiffWorkflow change nothing but speed (engine/spiff.py `ZhichengWorkflow`).

`walk_tasks` must yield what Spiff's `TaskIterator` yields, in its order, and a workflow run with every
shortcut must reach the very same states as one run with Spiff's own walks and passes: the same task tree,
states, data, timer values, waiting events and serialized form, after every action of every golden history
and every shipped scenario (including the refused actions the scenarios try).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import golden_files
import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

from engine import spiff
from engine.audit.replay import canonical_state, replay
from engine.paths import bpmn_dir
from engine.runtime import Application
from engine.scenario import run_scenario

FILES = golden_files.FILES
SCENARIOS = sorted((bpmn_dir() / "scenarios").glob("*.yaml"))
MASKS = [
    TaskState.READY,
    TaskState.WAITING,
    TaskState.READY | TaskState.WAITING,
    TaskState.COMPLETED,
    TaskState.NOT_FINISHED_MASK,
    TaskState.FINISHED_MASK,
    TaskState.PREDICTED_MASK,
    TaskState.ANY_MASK,
]


def normalized(app: Application) -> dict:
    """The serialized state with task ids replaced by tree positions and wall-clock stamps dropped, plus
    what is not serialized but steers the next action (the event manager's tasks, in order)."""
    state = json.loads(app.to_json())
    order: dict[str, int] = {}

    def number(task_id):
        order[task_id] = len(order)
        for child in state["tasks"][task_id]["children"]:
            number(child)

    number(state["root"])
    tasks = []
    for task_id, task in state["tasks"].items():  # in the workflow's own (insertion) order
        task = {k: v for k, v in task.items() if k != "last_state_change"}
        task["id"] = order.get(task_id, "detached")
        task["parent"] = order.get(task["parent"]) if task["parent"] else None
        task["children"] = [order.get(c, "detached") for c in task["children"]]
        tasks.append(task)
    state["tasks"] = tasks
    state["root"] = 0
    state["last_task"] = order.get(state["last_task"])
    state["(event manager)"] = [
        order.get(str(t.id), "detached") for t in app.workflow.event_manager.tasks.values()
    ]
    state["(completed)"] = app.workflow.is_completed()
    return state


def _stock(monkeypatch):
    """Run ZhichengWorkflows with Spiff's own walks and the three engine passes, as before the shortcuts."""

    def run_engine(self):
        self.do_engine_steps()
        self.refresh_timers()
        self.do_engine_steps()

    monkeypatch.setattr(spiff.ZhichengWorkflow, "get_tasks_iterator", BpmnWorkflow.get_tasks_iterator)
    monkeypatch.setattr(spiff.ZhichengWorkflow, "update_waiting_tasks", Workflow.update_waiting_tasks)
    monkeypatch.setattr(spiff.ZhichengWorkflow, "is_completed", Workflow.is_completed)
    monkeypatch.setattr(spiff.ZhichengWorkflow, "run_engine", run_engine)


def _recording(monkeypatch) -> list:
    """Record the normalized state after every start, action and timer check, refused ones included."""
    states: list = []
    start, complete, advance = Application.start.__func__, Application.complete, Application.advance

    def record(app, outcome):
        if app.workflow is not None:
            _same_serialization(app)
        states.append((outcome, normalized(app) if app.workflow is not None else None))

    def recorded(method):
        def wrapper(self, *args, **kwargs):
            try:
                result = method(self, *args, **kwargs)
            except Exception as exc:
                record(self, type(exc).__name__)
                raise
            record(self, "ok")
            return result

        return wrapper

    def started(cls, *args, **kwargs):
        app = start(cls, *args, **kwargs)
        record(app, "started")
        return app

    monkeypatch.setattr(Application, "start", classmethod(started))
    monkeypatch.setattr(Application, "complete", recorded(complete))
    monkeypatch.setattr(Application, "advance", recorded(advance))
    return states


def _golden_run(path: Path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    app, divergence = replay(golden_files.deployment(doc["deployment"]), golden_files.events(doc))
    assert divergence is None
    return app


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_walk_tasks_yields_what_spiffs_iterator_yields_at_every_step(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    checked = 0

    def check(_event, app):
        nonlocal checked
        workflow = app.workflow
        for first in [workflow.task_tree, *list(workflow.tasks.values())[::5]]:
            for mask in MASKS:
                expected = list(BpmnTaskIterator(first, state=mask))
                assert list(spiff.walk_tasks(first, mask)) == expected
                assert list(TaskIterator(first, state=mask)) == expected  # no subprocesses: the same
                assert workflow.get_tasks(first, state=mask) == expected
                checked += 1
            for spec_name in ("applicant_submit", "public_notice", "End"):
                assert list(spiff.walk_tasks(first, spec_name=spec_name)) == list(
                    BpmnTaskIterator(first, spec_name=spec_name)
                )
            assert list(spiff.walk_tasks(first, TaskState.READY, manual=False)) == list(
                BpmnTaskIterator(first, state=TaskState.READY, manual=False)
            )

    replay(golden_files.deployment(doc["deployment"]), golden_files.events(doc), on_step=check)
    assert checked > 0


def _same_serialization(app: Application) -> None:
    reg = spiff.registry()
    fast, stock = spiff.state_dict(app.workflow, reg), reg.convert(app.workflow)
    assert fast == stock
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(stock, ensure_ascii=False)  # key order too


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_state_dict_is_the_registrys_conversion_at_every_step(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    steps = []
    replay(
        golden_files.deployment(doc["deployment"]),
        golden_files.events(doc),
        on_step=lambda _e, app: steps.append(app.to_json()),
    )
    app, _ = replay(
        golden_files.deployment(doc["deployment"]),
        golden_files.events(doc),
        on_step=lambda _e, app: _same_serialization(app),
    )
    restored = Application.restore(app.deployment, steps[-1], app.clock)
    _same_serialization(restored)  # a restored tree (children ids are new UUID objects) as well


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_history_reaches_the_same_states_with_and_without_the_shortcuts(path, monkeypatch):
    with monkeypatch.context() as m:
        fast = _recording(m)
        _golden_run(path)
    with monkeypatch.context() as m:
        _stock(m)
        stock = _recording(m)
        _golden_run(path)
    assert len(fast) == len(stock) > 1
    for i, (a, b) in enumerate(zip(fast, stock, strict=True)):
        assert a == b, f"step {i} differs"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_reaches_the_same_states_with_and_without_the_shortcuts(path, monkeypatch):
    with monkeypatch.context() as m:
        fast = _recording(m)
        assert run_scenario(path).ok
    with monkeypatch.context() as m:
        _stock(m)
        stock = _recording(m)
        assert run_scenario(path).ok
    assert len(fast) == len(stock) > 1
    for i, (a, b) in enumerate(zip(fast, stock, strict=True)):
        assert a == b, f"step {i} differs"


def test_a_restored_workflow_takes_the_shortcuts_and_is_stored_under_the_stock_type():
    app = _golden_run(FILES[0])
    text = app.to_json()
    assert json.loads(text)["typename"] == "BpmnWorkflow"
    again = Application.restore(app.deployment, text, app.clock)
    assert type(again.workflow) is spiff.ZhichengWorkflow
    assert again.to_json() == text


def _round_trip_canonical(app: Application) -> list:
    """canonical_state as it was written first: every data dict through a JSON round trip."""
    return canonical_state(app, lambda data: json.loads(json.dumps(data, sort_keys=True, default=str)))


@pytest.mark.parametrize("path", FILES[::3], ids=lambda p: p.stem)
def test_canonical_state_compares_as_the_json_round_trip_did(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    captured = []

    def check(_event, app):
        canonical = canonical_state(app)
        assert canonical == _round_trip_canonical(app)
        captured.append((canonical, _round_trip_canonical(app)))

    replay(golden_files.deployment(doc["deployment"]), golden_files.events(doc), on_step=check)
    for canonical, expected in captured:  # detached: later steps did not change what was captured
        assert canonical == expected


@pytest.mark.parametrize(
    "value",
    [
        {"when": datetime(2020, 1, 1)},
        {1: "int key"},
        {"pair": (1, 2)},
        {"x": float("inf")},
        {"nested": [{"s": {3}}]},
        {"ok": [1, 2.5, True, None, "a", {"b": []}]},
    ],
)
def test_canonical_data_that_is_not_plain_json_still_goes_through_the_round_trip(value):
    app = _golden_run(FILES[0])
    app.workflow.data["probe"] = value
    assert canonical_state(app) == _round_trip_canonical(app)
