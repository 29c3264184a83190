"""Scenario files: a campaign, an org tree, applicants and timed steps with expectations.

Policy staff write these next to the BPMN to check an edit before deploying it (bpmn/scenarios/README.md).
The runner uses the in-memory runtime on a simulated clock, firing every timer at its own due time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from calendars import TZ, default_calendar

from .clock import SimulatedClock
from .deployment import build_deployment, read_sources
from .errors import ConfigError, ZhichengError
from .events import RecordedEvent
from .paths import bpmn_dir
from .reminders.policy import OPENS, Policy, due_keys, start_of_today
from .reminders.recipients import org_roles, reminds_applicant
from .runtime import Actor, Application

TIER_OF_TYPE = {
    "district_dept": "tier2",
    "hr_agency": "tier2",
    "district_hr_office": "tier3",
    "municipal_dept": "tier3",
    "committee": "committee",
}
STEP_KEYS = {"at", "actor", "application", "complete", "data", "data_file", "expect", "expect_error", "note"}
EXPECT_KEYS = {
    "status",
    "stage",
    "waiting_org",
    "ready",
    "actionable_from",
    "deadline",
    "responsible_org",
    "data",
    "reminders",
}


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

    @property
    def ok(self) -> bool:
        return all(not s.failures for s in self.steps)


def parse_instant(value, *, where: str) -> datetime:
    """A step time: an aware ISO datetime, or a date meaning 09:00 local that day."""
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


def expected_instant(value, *, where: str) -> datetime | None:
    """An expected deadline or opening: a date means 24:00 of it for deadlines, handled by the caller."""
    if value is None:
        return None
    return parse_instant(value, where=where)


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
        for i, (key, org) in enumerate(spec.items()):
            if not isinstance(org, dict) or "type" not in org:
                raise ConfigError("每个机构需要 type", file=str(self.path), key=f"orgs.{key}")
            orgs[key] = {**org, "id": 1000 + i, "key": key}
        for key, org in orgs.items():
            if org.get("parent") and org["parent"] not in orgs:
                raise ConfigError(
                    f"上级机构 {org['parent']!r} 未定义", file=str(self.path), key=f"orgs.{key}.parent"
                )
        return orgs

    def chain_for(self, unit_key: str) -> dict:
        chain = {"unit": self.orgs[unit_key]["id"], "tier2": None, "tier3": None, "committee": None}
        org = self.orgs[unit_key]
        while org.get("parent"):
            org = self.orgs[org["parent"]]
            tier = TIER_OF_TYPE.get(org["type"])
            if tier:
                chain[tier] = org["id"]
        return chain

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
            roles = org_roles(task.stage)
            for person, spec in self.people.items():
                org = self.orgs.get(spec.get("org") or "")
                if org and org["id"] == task.org_id and spec.get("role", "reviewer") in roles:
                    out.append(person)
        if reminds_applicant(task.stage, task.tier):
            out.append(app_name)
        return out

    def run(self) -> ScenarioResult:
        for name, person in self.people.items():
            if person.get("applicant"):
                chain = self.chain_for(person["unit"])
                self.apps[name] = Application.start(
                    self.deployment, self.clock, applicant_id=self.person_ids[name], chain=chain
                )
                self._record(
                    name,
                    "started",
                    actor_id=self.person_ids[name],
                    org_id=chain["unit"],
                    data={"chain": chain},
                )
        self.remind()
        results = []
        for i, step in enumerate(self.doc.get("steps") or [], start=1):
            results.append(self._step(i, step))
        return ScenarioResult(str(self.path), self.doc.get("name", self.path.stem), results)

    def _step(self, index: int, step: dict) -> StepResult:
        label = f"步骤 {index}" + (f"（{step['note']}）" if step.get("note") else "")
        result = StepResult(index, label)
        unknown = set(step) - STEP_KEYS
        if unknown:
            result.failures.append(f"未知的键：{', '.join(sorted(unknown))}")
            return result
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
                data = {
                    **yaml.safe_load((self.path.parent / step["data_file"]).read_text(encoding="utf-8")),
                    **data,
                }
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
            elif str(expected_error) not in str(error) and expected_error != type(error).__name__:
                result.failures.append(f"预期错误包含「{expected_error}」，实际错误：{error}")
        elif error is not None:
            result.failures.append(f"操作被拒绝：{error}")
        result.failures.extend(self._check(app, step.get("expect") or {}, index))
        return result

    def _check(self, app: Application, expect: dict, index: int) -> list[str]:
        failures = []
        unknown = set(expect) - EXPECT_KEYS
        if unknown:
            return [f"未知的预期项：{', '.join(sorted(unknown))}"]
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
            if want is None:
                if got is not None:
                    differ(key, "无", got.astimezone(TZ).isoformat())
                continue
            if isinstance(want, date) and not isinstance(want, datetime):
                want_at = cal.end_of_day(want) if key == "deadline" else cal.start_of_day(want)
            else:
                want_at = parse_instant(want, where=f"steps[{index}].expect.{key}")
            if got is None or got != want_at:
                differ(key, want_at.isoformat(), got.astimezone(TZ).isoformat() if got else "无")
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


def run_scenario(path: Path, root: Path | None = None) -> ScenarioResult:
    return ScenarioRunner(path, root).run()
