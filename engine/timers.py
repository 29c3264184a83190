"""Timer events that ask the injected clock instead of the wall clock.

SpiffWorkflow 3.2's timer definitions compare against `datetime.now(timezone.utc)`. We subclass them and
register the subclasses in our parser and serializer (under the stock type names), so the library itself is
never patched. The clock lives on the script engine, which is attached to every workflow after loading.
"""

from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffStartEventParser,
)

from .errors import ZhichengError


class TimerValueError(ZhichengError):
    """A timer expression produced something that is not an aware ISO datetime."""


def parse_instant(value: str, *, where: str = "") -> datetime:
    """Parse an aware ISO datetime; naive values are refused because they depend on the server's zone."""
    try:
        instant = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise TimerValueError(f"定时器 {where} 的时间不是 ISO 格式：{value!r}") from exc
    if instant.tzinfo is None:
        raise TimerValueError(f"定时器 {where} 的时间缺少时区：{value!r}（请使用日历函数生成时间）")
    return instant.astimezone(UTC)


def _clock_now(my_task) -> datetime:
    return my_task.workflow.script_engine.clock.now()


class ClockedTimeDateEventDefinition(TimeDateEventDefinition):
    """A timeDate timer; fires when the engine clock reaches the instant (inclusive)."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parse_instant(event_value, where=my_task.task_spec.name)
            my_task._set_internal_data(event_value=event_value)
        if parse_instant(event_value, where=my_task.task_spec.name) <= _clock_now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDurationTimerEventDefinition(DurationTimerEventDefinition):
    """A duration timer measured from the engine clock."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            start = _clock_now(my_task)
            event_value = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if parse_instant(event_value, where=my_task.task_spec.name) <= _clock_now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDateEventDefinition,
    DurationTimerEventDefinition: ClockedDurationTimerEventDefinition,
}


class _ClockedTimerParsing:
    """Mixin for event parsers: swap the stock timer definitions for the clocked ones."""

    def parse_timer_event(self, event):
        stock = super().parse_timer_event(event)
        clocked = CLOCKED.get(type(stock))
        if clocked is None:
            return stock  # cycle timers keep stock behaviour; `bpmn check` refuses them
        return clocked(stock.name, stock.expression, description=stock.description)


class ClockedStartEventParser(_ClockedTimerParsing, SpiffStartEventParser):
    pass


class ClockedBoundaryEventParser(_ClockedTimerParsing, SpiffBoundaryEventParser):
    pass


class ClockedIntermediateCatchEventParser(_ClockedTimerParsing, SpiffIntermediateCatchEventParser):
    pass
