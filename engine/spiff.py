"""The one place that composes SpiffWorkflow: parser, serializer registry, state-only serialization.

Nothing here changes library globals; every customisation is a subclass registered in our own objects.
"""

from __future__ import annotations

import json
from functools import lru_cache
from uuid import UUID

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .timers import (
    ClockedBoundaryEventParser,
    ClockedDurationTimerEventDefinition,
    ClockedIntermediateCatchEventParser,
    ClockedStartEventParser,
    ClockedTimeDateEventDefinition,
)


class ZhichengParser(SpiffBpmnParser):
    """SpiffWorkflow's parser with clocked timers."""

    # keep Spiff's spec classes (the serializer knows them); only the event parsers change
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        **{
            tag: (parser, SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[tag][1])
            for tag, parser in (
                (full_tag("startEvent"), ClockedStartEventParser),
                (full_tag("boundaryEvent"), ClockedBoundaryEventParser),
                (full_tag("intermediateCatchEvent"), ClockedIntermediateCatchEventParser),
            )
        },
    }


_ANY = TaskState.ANY_MASK
_PREDICTED, _DEFINITE = TaskState.PREDICTED_MASK, TaskState.DEFINITE_MASK
_MAYBE, _FUTURE, _COMPLETED = TaskState.MAYBE, TaskState.FUTURE, TaskState.COMPLETED
# the filters a plain walk answers; anything else (lanes, events, timestamps, a custom filter) goes to Spiff
_PLAIN_FILTERS = frozenset({"state", "spec_name", "manual"})
_READY = TaskState.READY
_TIMER_EVENTS = (TimerEventDefinition, MultipleEventDefinition)  # what refresh_timers updates
MAX_DEPTH = 1000  # Spiff's TaskIterator default


def walk_tasks(first, state=_ANY, spec_name=None, manual=None):
    """The tasks Spiff's `TaskIterator(first, state=..., spec_name=..., manual=...)` yields, in its order.

    Spiff's iterator keeps a list it pops from the front, rebuilds each task's children from the id map and
    climbs the tree after every leaf to track its depth: most of the engine's time went there. This is the
    same depth-first pre-order over one workflow's tree with an explicit stack: a task's children are
    descended into when it has any, its state is at least the iterator's `min_state` (predicted tasks hang
    only below definite ones) and it is less than `MAX_DEPTH` below `first`; children are read when their
    parent is visited, and tasks are yielded lazily, so a caller that changes the tree while walking sees
    what Spiff's iterator would. Subprocesses are not descended into (the caller checks there are none).
    """
    if state & _PREDICTED:
        min_state = _MAYBE
    elif state & _DEFINITE:
        min_state = _FUTURE
    else:
        min_state = _COMPLETED
    tasks = first.workflow.tasks
    stack = [(first, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        children = task._children
        if children and task._state >= min_state and depth < MAX_DEPTH:
            for child in reversed(children):
                push((tasks.get(child), depth + 1))
        if (
            task._state & state
            and (spec_name is None or task.task_spec.name == spec_name)
            and (manual is None or task.task_spec.manual == manual)
        ):
            yield task


class ZhichengWorkflow(BpmnWorkflow):
    """A BpmnWorkflow whose task-tree walks are `walk_tasks`: the same tasks in the same order, faster.

    Serialized as a `BpmnWorkflow` (the type name in stored states does not change). A workflow with
    subprocesses (ours have none) takes Spiff's own walks.
    """

    def get_tasks_iterator(self, first_task=None, **kwargs):
        if self.subprocesses or not _PLAIN_FILTERS.issuperset(kwargs):
            return super().get_tasks_iterator(first_task, **kwargs)
        return walk_tasks(first_task or self.task_tree, **kwargs)

    def update_waiting_tasks(self):
        if self.subprocesses:
            return super().update_waiting_tasks()
        for task in walk_tasks(self.task_tree, TaskState.WAITING):
            task.task_spec._update(task)

    def run_engine(self):
        """What `do_engine_steps(); refresh_timers(); do_engine_steps()` does, without the passes that
        provably change nothing.

        `do_engine_steps` runs ready engine tasks until a pass finds none, then refreshes the timers. When
        neither that refresh nor the next one changed a timer's state, no engine task is ready: the second
        `do_engine_steps` would walk the tree once, find nothing, and refresh the timers a third time. Only
        that walk is skipped; every refresh still runs, in the same order, on the same tasks.
        """
        if self.subprocesses:
            self.do_engine_steps()
            self.refresh_timers()
            self.do_engine_steps()
            return
        while self._do_engine_steps():
            pass
        changed = self._refresh_timers_changed()
        changed = self._refresh_timers_changed() or changed
        if changed:
            self.do_engine_steps()
        else:
            self.refresh_timers()

    def _refresh_timers_changed(self) -> bool:
        """`refresh_timers`, saying whether it changed a timer's state or left one ready."""
        timers = [
            task
            for task in list(self.event_manager.tasks.values())
            if isinstance(task.task_spec.event_definition, _TIMER_EVENTS)
        ]
        before = [task._state for task in timers]
        for task in timers:
            task.task_spec._update(task)
        return any(
            task._state != state or state == _READY for task, state in zip(timers, before, strict=True)
        )

    def is_completed(self):
        if not self.completed and not self.subprocesses:
            if next(walk_tasks(self.task_tree, TaskState.NOT_FINISHED_MASK), None) is None:
                self.completed = True
            return self.completed
        return super().is_completed()


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serialize instance state without the spec; restore it against a spec stored once per deployment."""

    def to_dict(self, workflow):
        # the base converter's fields, without converting the spec only to throw it away
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


@lru_cache(maxsize=1)
def registry():
    """The serializer registry: Spiff's, with our timers under the stock type names."""
    config = dict(SPIFF_CONFIG)
    config.pop(TimeDateEventDefinition)
    config.pop(DurationTimerEventDefinition)
    config[BpmnWorkflow] = StateOnlyWorkflowConverter
    reg = BpmnWorkflowSerializer.configure(config)
    # restored workflows are ZhichengWorkflows, stored under the stock type name
    StateOnlyWorkflowConverter(ZhichengWorkflow, reg, typename="BpmnWorkflow")
    TimerConditionalEventDefinitionConverter(
        ClockedTimeDateEventDefinition, reg, typename="TimeDateEventDefinition"
    )
    TimerConditionalEventDefinitionConverter(
        ClockedDurationTimerEventDefinition, reg, typename="DurationTimerEventDefinition"
    )
    return reg


def serializer() -> BpmnWorkflowSerializer:
    return BpmnWorkflowSerializer(registry())


def spec_to_dict(spec, subprocess_specs) -> dict:
    """The deployment's specs as a JSON-able dict (stored once per deployment)."""
    reg = registry()
    return {
        "spec": reg.convert(spec),
        "subprocess_specs": {name: reg.convert(s) for name, s in subprocess_specs.items()},
    }


def spec_from_dict(dct: dict):
    reg = registry()
    spec = reg.restore(dct["spec"])
    subs = {name: reg.restore(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subs


@lru_cache(maxsize=1)
def _state_version() -> str:
    return "zhicheng-state-1/" + serializer().VERSION


def state_to_json(workflow) -> str:
    """Instance state only: tasks, data, events; no spec."""
    reg = registry()
    dct = state_dict(workflow, reg) if type(workflow) is ZhichengWorkflow else reg.convert(workflow)
    dct[BpmnWorkflowSerializer.VERSION_KEY] = _state_version()
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


_PLAIN = (str, int, float, bool, type(None))


def state_dict(workflow, reg) -> dict:
    """`reg.convert(workflow)` for a workflow without subprocesses, key for key and in the same order.

    The registry converts every task through a chain of generic calls (type lookup, `clean`, a recursive
    `convert` of each value, a `partial` adding the type name); this writes Spiff's `TaskConverter.to_dict`
    fields directly, with the same delta encoding of task data against the parent's. Internal data that is
    not plain goes through the registry. test_engine_equivalence compares both on every recorded state.
    """
    if workflow.subprocesses or workflow.bpmn_events or not _task_converter_is_stock(reg):
        return reg.convert(workflow)
    tasks = workflow.tasks
    if len(_UUID_TEXT) > 50_000:  # ids of workflows long gone; the text of an id never changes
        _UUID_TEXT.clear()
    text = _UUID_TEXT.get
    converted = {}
    for task_id, task in tasks.items():
        name = text(task_id) or _uuid_text(task_id)
        parent = tasks.get(task._parent)
        data = task.data
        if parent is None:
            delta = {}
        else:
            before = parent.data
            delta = {
                "updates": {k: data[k] for k in data if k not in before or data[k] != before[k]},
                "deletions": [k for k in before if k not in data],
            }
            data = {}
        internal = task.internal_data
        if all(type(v) in _PLAIN for v in internal.values()):
            internal = dict(internal)
        else:
            internal = reg.convert(internal)
        converted[name] = {
            "id": name if task.id is task_id else str(task.id),
            "parent": (text(task._parent) or _uuid_text(task._parent)) if parent is not None else None,
            "children": [text(child) or _uuid_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": internal,
            "data": data,
            "delta": delta,
            "typename": "Task",
        }
    last = workflow.last_task
    return {
        "data": reg.convert(reg.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(last.id) if last is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": converted,
        "root": str(workflow.task_tree.id),
        "subprocesses": {},
        "bpmn_events": [],
        "typename": "BpmnWorkflow",
    }


_UUID_TEXT: dict = {}


def _uuid_text(value) -> str:
    text = _UUID_TEXT[value] = str(value)
    return text


@lru_cache(maxsize=1)
def _task_converter_is_stock(reg) -> bool:
    """Whether tasks are converted by Spiff's TaskConverter under the name `Task` (what state_dict writes)."""
    to_dict = reg.convert_to_dict.get(reg.typenames.get(Task))
    converter = getattr(getattr(to_dict, "args", (None, None))[1], "__self__", None)
    return reg.typenames.get(Task) == "Task" and type(converter) is TaskConverter


def state_from_json(text: str, spec, subprocess_specs):
    dct = json.loads(text)
    dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
    return registry().restore(dct, spec=spec, subprocess_specs=subprocess_specs)
