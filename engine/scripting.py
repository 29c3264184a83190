"""The script environment BPMN expressions run in: an allow-list of named helpers, never raw builtins.

Timer expressions return aware ISO datetimes computed from the working-day calendar and the campaign.
The script engine also carries the clock, which our timers ask; it is not serialized, so it is attached
to every workflow after loading.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from calendars import default_calendar

from . import rules

SAFE_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "True",
        "False",
        "None",
        "abs",
        "all",
        "any",
        "bool",
        "dict",
        "int",
        "len",
        "list",
        "max",
        "min",
        "round",
        "sorted",
        "str",
        "sum",
        "tuple",
        "set",
        "float",
        "isinstance",
    )
}


def _as_local_date(value) -> date:
    cal = default_calendar()
    if isinstance(value, datetime):
        return cal.local_date(value)
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text:
        return cal.local_date(datetime.fromisoformat(text))
    return date.fromisoformat(text)


def make_globals(campaign, model) -> dict:
    """The names a BPMN expression may use."""
    cal = default_calendar()

    def notice_end(approved_at) -> str:
        """End of the public notice: 24:00 of the N-th working day after the approval day."""
        return cal.notice_end(_as_local_date(approved_at), campaign.notice_working_days).isoformat()

    def stage_deadline(stage: str, return_stage: str | None = None) -> str:
        """When a task at `stage` lapses (see engine.rules)."""
        return rules.stage_deadline(model, campaign, stage, return_stage).isoformat()

    def stage_opens(stage: str) -> str:
        return campaign.opens_at(stage).isoformat()

    def end_of_day(day) -> str:
        return cal.end_of_day(_as_local_date(day)).isoformat()

    def nth_working_day_after(day, n: int) -> str:
        return cal.nth_working_day_after(_as_local_date(day), int(n)).isoformat()

    def repeat_notice_after_return() -> bool:
        return bool(campaign.repeat_notice_after_return)

    return {
        "__builtins__": SAFE_BUILTINS,
        "notice_end": notice_end,
        "stage_deadline": stage_deadline,
        "stage_opens": stage_opens,
        "end_of_day": end_of_day,
        "nth_working_day_after": nth_working_day_after,
        "repeat_notice_after_return": repeat_notice_after_return,
    }


@lru_cache(maxsize=1024)
def _compiled(source: str, mode: str):
    # What eval()/exec() of the string would compile, under the same file name ("<string>"): errors and
    # their line numbers read the same.
    return compile(source, "<string>", mode)


class CompiledTaskDataEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, with each expression and script compiled once per process
    instead of on every evaluation: compiling was 90 % of an evaluation (7.4 of 8.2 µs for a gateway's
    condition). A straight application runs 20 evaluations (17 distinct); an interleaved A/B of the
    in-memory lifecycle gave 0.8 ms less CPU per application at the median (≈ 5 %). The globals, the task
    data and what a script leaves behind are handled exactly as by the parent."""

    def evaluate(self, expression, context, external_context=None):
        code = _compiled(expression, "eval") if isinstance(expression, str) else expression
        return super().evaluate(code, context, external_context)

    def execute(self, script, context, external_context=None):
        code = _compiled(script, "exec") if isinstance(script, str) else script
        return super().execute(code, context, external_context)


class ClockedScriptEngine(PythonScriptEngine):
    """A script engine that knows the campaign and carries the clock timers ask."""

    def __init__(self, campaign, clock, model):
        super().__init__(environment=CompiledTaskDataEnvironment(make_globals(campaign, model)))
        self.clock = clock
        self.campaign = campaign
