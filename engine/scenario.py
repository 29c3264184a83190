"""Scenario files: a campaign, an org tree, applicants and timed steps with expectations.

Policy staff write these next to the BPMN to check an edit before deploying it (bpmn/scenarios/README.md).
The runner uses the in-memory runtime on a simulated clock, firing every timer at its own due time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from calendars import default_calendar

from . import timefmt
from .accounts.tiers import chain_key, choose_acting_org
from .clock import SimulatedClock
from .deployment import Deployment, build_deployment, read_sources
from .errors import ConfigError, FormInvalid, ZhichengError
from .events import RecordedEvent
from .paths import bpmn_dir
from .reminders.policy import OPENS, Policy, due_keys, start_of_today
from .reminders.recipients import org_roles, reminds_applicant
from .runtime import Actor, Application
from .scenario_format import ScenarioInvalid, check_scenario, parse_instant


@dataclass
class StepResult:
    index: int
    label: str
    failures: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    file: str
    name: str
    steps: list[StepResult]
    deployment: Deployment | None = None
    workflows: list = field(default_factory=list)  # every application's workflow at the end, for coverage

    @property
    def ok(self) -> bool:
        return all(not s.failures for s in self.steps)


class ScenarioRunner:
    def __init__(self, path: Path, root: Path | None = None):
        self.path = Path(path)
        self.root = Path(root or bpmn_dir())
        try:
            self.doc = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ConfigError(
                f"YAML 格式错误：{exc}", file=str(self.path), line=mark.line + 1 if mark else None
            ) from exc
        if not isinstance(self.doc, dict):
            raise ConfigError("场景文件应为一个映射（mapping）", file=str(self.path))
        self.deployment = build_deployment(read_sources(self.root, self._campaign_path()))
        problems = check_scenario(self.doc, self.path, *scenario_stages(self.deployment))
        if problems:
            raise ScenarioInvalid(problems, file=str(self.path))
        self.orgs = self._orgs(self.doc.get("orgs") or {})
        self.people = self.doc.get("people") or {}
        start = parse_instant(self.doc.get("start", "2020-11-17T09:00+08:00"), where="start")
        self.clock = SimulatedClock(start)
        self.apps: dict[str, Application] = {}
        self.person_ids = {name: i + 1 for i, name in enumerate(self.people)}
        self.events: dict[str, list[RecordedEvent]] = {}  # per application, as the store would record them
        self.reminder_policy = Policy.of(self.deployment.campaign)
        self.reminded: set[tuple] = set()  # (application, stage, deadline, offset, person): sent once each
        self.new_reminders: list[tuple[str, str, str]] = []  # (person, task, offset) since the last step

    def _record(self, app_name: str, event_type: str, *, actor_id=None, org_id=None, stage=None, data=None):
        log = self.events.setdefault(app_name, [])
        log.append(
            RecordedEvent(len(log) + 1, self.clock.now(), actor_id, org_id, event_type, stage, data or {})
        )

    def _campaign_path(self) -> Path | None:
        """A scenario's campaign: relative to the scenario file, else to the bpmn folder."""
        name = self.doc.get("campaign")
        if not name:
            return None
        for candidate in (self.path.parent / name, self.root / name):
            if candidate.exists():
                return candidate.resolve()
        raise ConfigError(f"找不到活动文件 {name!r}", file=str(self.path), key="campaign")

    # org keys become small integer ids, in file order
    def _orgs(self, spec: dict) -> dict[str, dict]:
        orgs = {}
        for i, (key, org) in enumerate(spec.items()):  # types and parents were checked by check_scenario
            orgs[key] = {**org, "id": 1000 + i, "key": key}
        return orgs

    def chain_for(self, unit_key: str) -> dict:
        chain = {"unit": self.orgs[unit_key]["id"], "tier2": None, "tier3": None, "committee": None}
        org = self.orgs[unit_key]
        while org.get("parent"):
            org = self.orgs[org["parent"]]
            tier = chain_key(org["type"])
            if tier:
                chain[tier] = org["id"]
        model = self.deployment.model
        if model.org_types:  # lanes naming the org type that acts: resolved as the store does
            ancestors, org = [], self.orgs[unit_key]
            while True:
                ancestors.append((org["id"], org["type"], "active", org.get("name") or org["key"]))
                if not org.get("parent"):
                    break
                org = self.orgs[org["parent"]]
            lanes = model.lane_names()
            for tier, org_type in model.org_types.items():
                actives = [o["id"] for o in self.orgs.values() if o["type"] == org_type]
                chain[tier] = choose_acting_org(org_type, lanes.get(tier, tier), ancestors, actives)
        return chain

    def committees_by_series(self) -> dict[str, int]:
        """{series code: committee id} from the committees' `series` lists (the first in file order wins)."""
        out: dict[str, int] = {}
        for org in self.orgs.values():
            if org["type"] == "committee":
                for code in org.get("series") or []:
                    out.setdefault(code, org["id"])
        return out

    def org_key(self, org_id) -> str | None:
        for key, org in self.orgs.items():
            if org["id"] == org_id:
                return key
        return None

    def actor(self, name: str) -> Actor:
        person = self.people.get(name)
        if person is None:
            raise ConfigError(f"未定义的人员 {name!r}", file=str(self.path), key="people")
        memberships = set()
        if person.get("org"):
            memberships.add((self.orgs[person["org"]]["id"], person.get("role", "reviewer")))
        return Actor(self.person_ids[name], frozenset(memberships), name)

    def advance_to(self, target: datetime):
        """Move the clock to `target`, firing every timer at its own due time and sending the reminders due
        at each local midnight on the way, as a worker running all along would."""
        while True:
            due = [t.due_at for app in self.apps.values() for t in app.due_timers() if t.due_at <= target]
            midnight = start_of_today(self.clock.now()) + timedelta(days=1)
            moments = [*due, midnight] if midnight <= target else due
            if not moments:
                break
            self.clock.set(max(min(moments), self.clock.now()))
            for name, app in self.apps.items():
                for timer in app.advance():
                    self._record(name, "timer_fired", stage=timer.name, data={"status": app.status().status})
            self.remind()
        if target > self.clock.now():
            self.clock.set(target)
        self.remind()

    def remind(self):
        """Record the reminders due now (each once per application, task, offset and person)."""
        now = self.clock.now()
        for name, app in self.apps.items():
            for task in app.ready_tasks():
                keys = due_keys(
                    self.reminder_policy, default_calendar(), now, task.actionable_from, task.deadline
                )
                for key in keys:
                    offset = key if key == OPENS else key.removeprefix("before:")
                    for person in self._holders(name, task):
                        mark = (name, task.stage, task.deadline, key, person)
                        if mark not in self.reminded:
                            self.reminded.add(mark)
                            self.new_reminders.append((person, task.stage, offset))

    def _holders(self, app_name: str, task) -> list[str]:
        """People reminded of a ready task: the holding org's members who may act, and the applicant."""
        out = []
        if task.org_id is not None:
            roles = org_roles(self.deployment.model, task.stage)
            for person, spec in self.people.items():
                org = self.orgs.get(spec.get("org") or "")
                if org and org["id"] == task.org_id and spec.get("role", "reviewer") in roles:
                    out.append(person)
        if reminds_applicant(self.deployment.model, task.stage, task.tier):
            out.append(app_name)
        return out

    def run(self) -> ScenarioResult:
        for name, person in self.people.items():
            if person.get("applicant"):
                chain = self.chain_for(person["unit"])
                committees = self.committees_by_series()
                self.apps[name] = Application.start(
                    self.deployment,
                    self.clock,
                    applicant_id=self.person_ids[name],
                    chain=chain,
                    committees=committees,
                )
                self._record(
                    name,
                    "started",
                    actor_id=self.person_ids[name],
                    org_id=chain["unit"],
                    data={"chain": chain, "committees": committees},
                )
        self.remind()
        results = []
        for i, step in enumerate(self.doc.get("steps") or [], start=1):
            results.append(self._step(i, step))
        return ScenarioResult(
            str(self.path),
            self.doc.get("name", self.path.stem),
            results,
            self.deployment,
            [app.workflow for app in self.apps.values() if app.workflow is not None],
        )

    def _step(self, index: int, step: dict) -> StepResult:
        label = f"步骤 {index}" + (f"（{step['note']}）" if step.get("note") else "")
        result = StepResult(index, label)
        if index > 1:
            self.new_reminders = []  # the first step also reports what was due at the scenario's start
        if "at" in step:
            at = parse_instant(step["at"], where=f"steps[{index}].at")
            if at < self.clock.now():
                result.failures.append(f"时间倒退：{at.isoformat()} 早于 {self.clock.now().isoformat()}")
                return result
            self.advance_to(at)
        app_name = step.get("application") or next(iter(self.apps), None)
        app = self.apps.get(app_name)
        if app is None:
            result.failures.append(f"没有名为 {app_name!r} 的申请书")
            return result
        error = None
        if step.get("complete"):
            actor = self.actor(step.get("actor", app_name))
            data = dict(step.get("data") or {})
            if step.get("data_file"):
                data = {**self._data_file(step["data_file"], index), **data}
            try:
                done = app.complete(step["complete"], actor, data)
            except ZhichengError as exc:
                error = exc
            else:
                for timer in done.fired:
                    self._record(app_name, "timer_fired", stage=timer.name)
                self._record(
                    app_name,
                    "completed",
                    actor_id=done.actor_id,
                    org_id=done.org_id,
                    stage=done.stage,
                    data={"form": done.data, "actor_name": actor.name, "status": app.status().status},
                )
                self.remind()
        expected_error = step.get("expect_error")
        if expected_error is not None:
            if error is None:
                result.failures.append(f"预期错误包含「{expected_error}」，但操作成功了")
            elif not error_matches(error, str(expected_error)):
                result.failures.append(f"预期错误包含「{expected_error}」，实际错误：{error_text(error)}")
        elif error is not None:
            result.failures.append(f"操作被拒绝：{error_text(error)}")
        result.failures.extend(self._check(app, step.get("expect") or {}, index))
        return result

    def _data_file(self, name: str, index: int) -> dict:
        """A step's form data file (YAML, a mapping), relative to the scenario file."""
        target = self.path.parent / name
        try:
            data = yaml.safe_load(target.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ConfigError(
                f"YAML 格式错误：{exc}", file=str(target), line=mark.line + 1 if mark else None
            ) from exc
        if not isinstance(data, dict):
            raise ConfigError(
                "数据文件应为一个映射（mapping）", file=str(self.path), key=f"steps[{index}].data_file"
            )
        return data

    def _check(self, app: Application, expect: dict, index: int) -> list[str]:
        failures = []
        status = app.status()
        ready = app.ready_tasks()

        def differ(what, want, got):
            failures.append(f"{what}：预期 {want}，实际 {got}")

        if "status" in expect and expect["status"] != status.status:
            differ("状态", expect["status"], status.status)
        if "stage" in expect and expect["stage"] != status.stage:
            differ("环节", expect["stage"], status.stage)
        if "waiting_org" in expect:
            got = self.org_key(status.waiting_org)
            if expect["waiting_org"] != got:
                differ("等待机构", expect["waiting_org"], got)
        if "responsible_org" in expect:
            got = self.org_key(status.responsible_org)
            if expect["responsible_org"] != got:
                differ("责任机构", expect["responsible_org"], got)
        if "ready" in expect:
            got = sorted(t.stage for t in ready)
            if sorted(expect["ready"] or []) != got:
                differ("待办任务", expect["ready"], got)
        cal = default_calendar()
        for key, got in (("deadline", status.deadline), ("actionable_from", status.actionable_from)):
            if key not in expect:
                continue
            want = expect[key]
            deadline = key == "deadline"
            if want is None:
                if got is not None:
                    differ(key, "无", show_instant(got, deadline=deadline))
                continue
            if isinstance(want, date) and not isinstance(want, datetime):
                want_at = cal.end_of_day(want) if deadline else cal.start_of_day(want)
            else:
                want_at = parse_instant(want, where=f"steps[{index}].expect.{key}")
            if got is None or got != want_at:
                # a deadline reads as the notice writes it (engine.timefmt), never the next day's 00:00
                differ(key, show_instant(want_at, deadline=deadline), show_instant(got, deadline=deadline))
        if "reminders" in expect:
            want = sorted(
                (str(r.get("to")), str(r.get("task")), str(r.get("offset")))
                for r in (expect["reminders"] or [])
                if isinstance(r, dict)
            )
            got = sorted(self.new_reminders)
            if want != got:
                show = lambda rs: "；".join(f"{p} {t} {o}" for p, t, o in rs) or "无"  # noqa: E731
                differ("提醒", show(want), show(got))
        for key, want in (expect.get("data") or {}).items():
            got = app.data.get(key)
            if got != want:
                differ(f"数据 {key}", want, got)
        return failures


def scenario_stages(deployment: Deployment) -> tuple[set[str], set[str]]:
    """Ids a step may complete (the stage model's user tasks) and ids an expectation may name (also its waits)."""
    model = deployment.model
    return set(model.stages), set(model.stages) | set(model.waits)


def error_matches(error: Exception, expected: str) -> bool:
    """`expect_error` names the refusal's class or any parent class, or a text in its message or field errors."""
    if expected in {cls.__name__ for cls in type(error).__mro__}:
        return True
    return expected in error_text(error)


def error_text(error: Exception) -> str:
    """A refusal's message with its per-field form errors, as a person reads them."""
    text = str(error)
    if isinstance(error, FormInvalid) and error.errors:
        text += "：" + "；".join(error.errors.values())
    return text


def show_instant(instant: datetime | None, *, deadline: bool = False) -> str:
    """`2020-11-26（24:00 截止）` for a deadline (engine.timefmt: pages, messages and reports agree), else a time."""
    if instant is None:
        return "无"
    return timefmt.deadline(instant) if deadline else timefmt.instant(instant)


def run_scenario(path: Path, root: Path | None = None) -> ScenarioResult:
    return ScenarioRunner(path, root).run()
