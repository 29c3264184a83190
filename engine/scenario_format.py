"""The scenario file format, checked before a scenario runs: a scenario that cannot lie.

A JSON Schema (draft 2020-12, `additionalProperties: false` at every level) catches unknown keys, wrong types,
unknown org types, roles and statuses; cross-reference checks then catch what a schema cannot: parents, units,
orgs and people that are not defined, data files that do not exist, stage ids the deployment has no task for,
and times that do not parse. Every problem names the file, the step and the key path, in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from jsonschema import Draft202012Validator

from .accounts.models import ORG_TYPES, ROLES
from .errors import ConfigError

STATUSES = (
    "draft",
    "submitted",
    "in_review",
    "public_notice",
    "returned",
    "accepted",
    "confirmed",
    "expired",
    "not_recommended",
)
_NAME = {"type": "string", "minLength": 1}
_EXPECT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "status": {"enum": list(STATUSES)},
        "stage": {"type": ["string", "null"]},
        "waiting_org": {"type": ["string", "null"]},
        "responsible_org": {"type": ["string", "null"]},
        "ready": {"type": ["array", "null"], "items": _NAME},
        "deadline": {},  # a date (24:00 of it), a time, or null: checked by parse_instant
        "actionable_from": {},
        "data": {"type": "object"},
        # deadline reminders sent since the previous step (engine/reminders): who, which task, which offset
        "reminders": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["to", "task", "offset"],
                "properties": {"to": _NAME, "task": _NAME, "offset": {"type": ["integer", "string"]}},
            },
        },
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["orgs", "people", "steps"],
    "properties": {
        "name": _NAME,
        "campaign": _NAME,
        "start": {},
        "orgs": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {
                    "type": {"enum": list(ORG_TYPES)},
                    "parent": _NAME,
                    "name": _NAME,
                    "series": {"type": "array", "items": _NAME},  # committees: the series they receive
                },
            },
        },
        "people": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "applicant": {"type": "boolean"},
                    "unit": _NAME,
                    "org": _NAME,
                    "role": {"enum": list(ROLES)},
                    "name": _NAME,
                },
            },
        },
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "at": {},
                    "note": {"type": "string"},
                    "application": _NAME,
                    "actor": _NAME,
                    "complete": _NAME,
                    "data": {"type": "object"},
                    "data_file": _NAME,
                    "expect": _EXPECT,
                    "expect_error": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


@dataclass(frozen=True)
class ScenarioProblem:
    """One thing wrong in a scenario file: where (step number, key path) and what."""

    file: str
    step: int | None
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where()}"

    def where(self) -> str:
        step = f"步骤 {self.step} " if self.step else ""
        return f"{step}[{self.key}] {self.message}"


class ScenarioInvalid(ConfigError):
    """A scenario file that does not follow the format; `problems` lists every one. The file is not run."""

    def __init__(self, problems: list[ScenarioProblem], *, file: str):
        self.problems = list(problems)
        super().__init__(f"场景文件有 {len(self.problems)} 处错误，未运行", file=file, problems=self.problems)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"    {p.where()}" for p in self.problems)])


def parse_instant(value, *, where: str) -> datetime:
    """A time in a scenario: an aware ISO datetime, or a date meaning 09:00 local that day."""
    from calendars import TZ

    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=TZ)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 9, tzinfo=TZ)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"时间格式错误：{value!r}（应为 2020-11-18T10:00+08:00 或 2020-11-18）", key=where
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TZ)


def check_scenario(doc, path: Path, tasks: set[str], positions: set[str]) -> list[ScenarioProblem]:
    """Every problem of a parsed scenario document.

    `tasks` are the user task ids a step may complete or expect ready; `positions` also holds the events an
    application may wait at (the public notice), which `expect.stage` may name.
    """
    file = str(path)
    if not isinstance(doc, dict):
        return [ScenarioProblem(file, None, "(根)", "场景文件应为一个映射（mapping）")]
    problems = [_from_schema(file, error) for error in _VALIDATOR.iter_errors(doc)]
    if problems:  # references only make sense in a well-formed file
        return sorted(problems, key=lambda p: (p.step or 0, p.key))
    return _references(doc, path, tasks, positions)


def _from_schema(file: str, error) -> ScenarioProblem:
    parts = list(error.absolute_path)
    step = parts[1] + 1 if len(parts) > 1 and parts[0] == "steps" and isinstance(parts[1], int) else None
    key = _key(parts)
    kind = error.validator
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties") or {})
        extra = [k for k in error.instance if k not in allowed]
        return ScenarioProblem(
            file, step, key, f"未知的键：{'、'.join(map(str, extra))}（可用的键：{'、'.join(allowed)}）"
        )
    if kind == "enum":
        return ScenarioProblem(
            file,
            step,
            key,
            f"未知的值 {error.instance!r}（应为 {'、'.join(map(str, error.validator_value))} 之一）",
        )
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return ScenarioProblem(file, step, key, f"缺少 {'、'.join(missing)}")
    if kind == "type":
        return ScenarioProblem(
            file, step, key, f"类型不对：{error.instance!r}（应为 {error.validator_value}）"
        )
    return ScenarioProblem(file, step, key, f"不符合场景格式：{error.message}")


def _key(parts: list) -> str:
    text = ""
    for part in parts:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(根)"


def _references(doc: dict, path: Path, tasks: set[str], positions: set[str]) -> list[ScenarioProblem]:
    file = str(path)
    problems: list[ScenarioProblem] = []

    def bad(step, key, message):
        problems.append(ScenarioProblem(file, step, key, message))

    orgs, people = doc["orgs"], doc["people"]
    for key, org in orgs.items():
        if org.get("parent") and org["parent"] not in orgs:
            bad(None, f"orgs.{key}.parent", f"上级机构 {org['parent']!r} 未在 orgs 中定义")
    applicants = [name for name, p in people.items() if p.get("applicant")]
    for name, person in people.items():
        if person.get("applicant"):
            unit = person.get("unit")
            if unit is None:
                bad(None, f"people.{name}", "申报人需要 unit（所在单位）")
            elif unit not in orgs:
                bad(None, f"people.{name}.unit", f"单位 {unit!r} 未在 orgs 中定义")
            elif orgs[unit]["type"] != "unit":
                bad(None, f"people.{name}.unit", f"{unit!r} 的类型是 {orgs[unit]['type']}，不是 unit")
        elif person.get("org") is None:
            bad(None, f"people.{name}", "审核人员需要 org（所在机构）；申报人写 applicant: true 和 unit")
        elif person["org"] not in orgs:
            bad(None, f"people.{name}.org", f"机构 {person['org']!r} 未在 orgs 中定义")
    if "start" in doc:
        _time(bad, None, "start", doc["start"])
    for i, step in enumerate(doc["steps"], start=1):
        where = f"steps[{i}]"
        if "at" in step:
            _time(bad, i, f"{where}.at", step["at"])
        if step.get("application") and step["application"] not in applicants:
            bad(
                i,
                f"{where}.application",
                f"没有名为 {step['application']!r} 的申请书（申报人：{'、'.join(applicants)}）",
            )
        if step.get("actor") and step["actor"] not in people:
            bad(i, f"{where}.actor", f"人员 {step['actor']!r} 未在 people 中定义")
        if step.get("complete") and step["complete"] not in tasks:
            bad(i, f"{where}.complete", _unknown_stage(step["complete"], tasks))
        if step.get("data_file") and not (path.parent / step["data_file"]).is_file():
            bad(i, f"{where}.data_file", f"数据文件 {step['data_file']!r} 不存在（相对场景文件所在目录）")
        if (step.get("data") or step.get("data_file")) and not step.get("complete"):
            bad(i, where, "写了表单数据却没有 complete（办理哪个环节）")
        expect = step.get("expect") or {}
        if expect.get("stage") and expect["stage"] not in positions:
            bad(i, f"{where}.expect.stage", _unknown_stage(expect["stage"], positions))
        for stage in expect.get("ready") or []:
            if stage not in tasks:
                bad(i, f"{where}.expect.ready", _unknown_stage(stage, tasks))
        for key in ("waiting_org", "responsible_org"):
            if expect.get(key) and expect[key] not in orgs:
                bad(i, f"{where}.expect.{key}", f"机构 {expect[key]!r} 未在 orgs 中定义")
        for n, reminder in enumerate(expect.get("reminders") or [], start=1):
            if reminder["to"] not in people:
                bad(i, f"{where}.expect.reminders[{n}].to", f"人员 {reminder['to']!r} 未在 people 中定义")
            if reminder["task"] not in tasks:
                bad(i, f"{where}.expect.reminders[{n}].task", _unknown_stage(reminder["task"], tasks))
        for key in ("deadline", "actionable_from"):
            if expect.get(key) is not None:
                _time(bad, i, f"{where}.expect.{key}", expect[key])
    if len(applicants) > 1:
        for i, step in enumerate(doc["steps"], start=1):
            if step.get("complete") and not step.get("application"):
                bad(i, f"steps[{i}]", f"有多位申报人（{'、'.join(applicants)}），须写 application")
    return problems


def _unknown_stage(stage: str, stages: set[str]) -> str:
    return f"未知的环节 id {stage!r}（此流程的环节：{'、'.join(sorted(stages))}）"


def _time(bad, step, key, value) -> None:
    try:
        parse_instant(value, where=key)
    except ConfigError as exc:
        bad(step, key, exc.reason)
