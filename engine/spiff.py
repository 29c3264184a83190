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
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
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


def state_to_json(workflow) -> str:
    """Instance state only: tasks, data, events; no spec."""
    reg = registry()
    dct = reg.convert(workflow)
    dct[BpmnWorkflowSerializer.VERSION_KEY] = "zhicheng-state-1/" + serializer().VERSION
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def state_from_json(text: str, spec, subprocess_specs):
    dct = json.loads(text)
    dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
    return registry().restore(dct, spec=spec, subprocess_specs=subprocess_specs)
