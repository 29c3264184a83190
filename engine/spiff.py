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
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

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
