"""The dry run: drive every path of a deployment's process through the engine before it is deployed.

On simulated clocks, starting from each review chain the process can meet (every tier present, and each
optional tier missing), the dry run completes every ready task with sample data from its form — once for every
option of each field the diagram branches on (approve / return / not_recommend …) — and lets every timer fire
(the public notice, and each deadline: a lapse). Paths are bounded: a task is done at most `MAX_VISITS` times
on one path (so each return is taken once, then the path goes on), and a state already explored is not explored
again. A path that raises, stops with nothing ready and nothing waiting, or finishes without reaching an end
event is a problem, reported in Chinese with the task and the path that led there; so is a sequence flow no path
takes (a gateway condition no form value can meet, such as a misspelt `decision == "retrun"`, which would let
the default flow approve a return).
"""

from __future__ import annotations

import ast
import json
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from calendars import default_calendar

from .clock import SimulatedClock
from .coverage import Coverage
from .deployment import Deployment
from .errors import ConfigError, FormInvalid, OutsideWindow, ZhichengError
from .form_samples import variants
from .runtime import Actor, Application
from .stages import DEFAULT_ROLES
from .variables import COMPLETED_AT_SUFFIX

MAX_VISITS = 2  # a task done twice on one path: one return through it, then on
MAX_STATES = 4000  # a diagram this branchy is a problem in itself (and keeps `bpmn check` quick)
APPLICANT_ID = 1
_VOLATILE = ("reviews", "opinion", "reason")  # differ by path without changing where the process can go
_CACHE: dict[str, DryRunReport] = {}


@dataclass(frozen=True)
class DryRunProblem:
    """A path that cannot run: the task (BPMN id and label) it failed at, what happened, the path taken."""

    stage: str
    label: str
    message: str
    path: tuple[str, ...]

    def __str__(self) -> str:
        where = f"「{self.label}」（{self.stage}）" if self.stage else ""
        path = f"；路径：{' → '.join(self.path)}" if self.path else ""
        return f"试运行：{where}{self.message}{path}"


@dataclass
class DryRunReport:
    """What the dry run explored: paths finished per end event, states visited, and every problem."""

    ends: Counter = field(default_factory=Counter)
    states: int = 0
    problems: list[DryRunProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"试运行 {sum(self.ends.values())} 条路径、{self.states} 个状态，到达 {len(self.ends)} 个结束事件"
        )


class DryRunFailed(ConfigError):
    """`deploy` refuses a deployment whose dry run found problems; `problems` lists them."""

    def __init__(self, problems: list[DryRunProblem], *, file: str | None = None):
        self.problems = list(problems)
        super().__init__(f"试运行发现 {len(self.problems)} 个问题，未部署", file=file)

    def __str__(self) -> str:
        return "\n".join([self.message, *(str(p) for p in self.problems)])


def dry_run(deployment: Deployment) -> DryRunReport:
    """Explore every path of the deployment's process (cached per deployment id: sources never change)."""
    cached = _CACHE.get(deployment.id)
    if cached is None:
        cached = _CACHE.setdefault(deployment.id, _Explorer(deployment).run())
    return cached


def require_dry_run(deployment: Deployment) -> DryRunReport:
    """As `dry_run`; raises DryRunFailed when any path cannot run."""
    report = dry_run(deployment)
    if report.problems:
        raise DryRunFailed(report.problems, file=next(iter(_bpmn_names(deployment)), None))
    return report


def branch_fields(deployment: Deployment) -> set[str]:
    """Names read by the diagram's conditions and scripts: the form fields whose every option must be tried."""
    names: set[str] = set()
    for name in _bpmn_names(deployment):
        root = etree.fromstring(deployment.sources[name].encode("utf-8"))
        for el in root.iter():
            if not isinstance(el.tag, str) or not el.text:
                continue
            if etree.QName(el).localname in ("conditionExpression", "script", "preScript", "postScript"):
                try:
                    tree = ast.parse(el.text.strip())
                except SyntaxError:
                    continue  # bpmn check reports it
                names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names


def _bpmn_names(deployment: Deployment) -> list[str]:
    return [n for n in deployment.sources if n.endswith(".bpmn")]


@dataclass(frozen=True)
class _State:
    json: str
    now: datetime
    path: tuple[str, ...]
    visits: tuple[tuple[str, int], ...]
    chain: int


class _Explorer:
    def __init__(self, deployment: Deployment):
        self.deployment = deployment
        self.report = DryRunReport()
        self.fields = branch_fields(deployment)
        self.samples: dict[str, list[tuple[str, dict]]] = {}
        self.seen: set = set()
        self.lapses: set = set()
        self.coverage = (
            Coverage()
        )  # the flows some path took: a flow none takes is a branch that cannot happen
        self.chains = self._chains()

    # ---- setup --------------------------------------------------------------------------------
    def _chains(self) -> list[tuple[str, dict]]:
        """Every review chain the process can meet: all tiers, then each tier left out (if allowed)."""
        model = self.deployment.model
        tiers = list(model.tiers)
        lane_of = {s.tier: s.lane for s in reversed(list(model.stages.values()))}
        full = {tier: 100 + i for i, tier in enumerate(tiers)}
        chains = [("审核链含全部层级", full)]
        chains += [(f"审核链没有「{lane_of[t]}」", {**full, t: None}) for t in tiers]
        return chains

    def _start_at(self) -> datetime:
        opens = [w.opens for w in self.deployment.campaign.stages.values()]
        return default_calendar().start_of_day(min(opens))

    def _actor(self, task, chain: dict) -> Actor:
        model = self.deployment.model
        roles = set(DEFAULT_ROLES).union(*(s.roles for s in model.stages.values()))
        memberships = frozenset((org, role) for org in chain.values() if org for role in roles)
        return Actor(APPLICANT_ID, memberships, "试运行")

    def _samples(self, stage: str) -> list[tuple[str, dict]]:
        if stage not in self.samples:
            schema = self.deployment.form_schema(stage)
            self.samples[stage] = variants(schema, self.fields) if schema else [("提交", {})]
        return self.samples[stage]

    # ---- exploration --------------------------------------------------------------------------
    def run(self) -> DryRunReport:
        stack: deque[_State] = deque()
        for index, (label, chain) in enumerate(self.chains):
            clock = SimulatedClock(self._start_at())
            try:
                app = Application.start(self.deployment, clock, applicant_id=APPLICANT_ID, chain=chain)
            except ZhichengError as exc:
                if index == 0:
                    self._problem("", "", f"流程无法开始：{exc}", (label,))
                continue  # a chain the engine refuses to start is not one the process can meet
            except Exception as exc:  # noqa: BLE001 -- report whatever the diagram does on start
                self._problem("", "", f"流程无法开始：{exc}", (label,))
                continue
            stack.append(_State(app.to_json(), clock.now(), (f"开始（{label}）",), (), index))
        while stack:
            if self.report.states >= MAX_STATES:
                self._problem("", "", f"路径超过 {MAX_STATES} 个状态，流程分支过多或存在无法结束的循环", ())
                break
            stack.extend(self._expand(stack.popleft()))  # breadth first: the shortest failing path
        if not self.report.problems:  # a path cut short by an error leaves flows untaken for that reason
            self._untaken_flows()
        return self.report

    def _untaken_flows(self) -> None:
        """Every sequence flow some path must take: one that none takes has a condition no form value meets."""
        for item in self.coverage:
            m = item.model
            for flow_id, flow in m.flows.items():
                if flow_id in item.flows:
                    continue
                source = m.names.get(flow.source) or flow.source
                self._problem(
                    flow.source,
                    source,
                    f"之后的连线「{flow.name or flow_id}」（{flow_id}，通往「{m.names.get(flow.target) or flow.target}」）"
                    "没有任何路径走到：它的条件在表单允许的任何取值下都不成立（取值或变量名拼错？），或前面没有路径能到达这里",
                    (),
                )

    def _expand(self, state: _State) -> list[_State]:
        app = Application.restore(self.deployment, state.json, SimulatedClock(state.now))
        self.coverage.add(self.deployment, app.workflow)
        if app.workflow.is_completed():
            self._finished(app, state)
            return []
        try:
            ready, timers = app.ready_tasks(), app.due_timers()
        except Exception as exc:  # noqa: BLE001 -- e.g. a task in a lane the engine cannot place
            self._problem("", "", f"无法确定待办事项：{exc}", state.path)
            return []
        if not ready and not timers:
            self._problem(
                *self._last(app), "之后流程停住了：没有待办任务、没有等待的定时器，也没有结束", state.path
            )
            return []
        key = (state.chain, state.visits, _shape(app, ready, timers))
        if key in self.seen:
            return []
        self.seen.add(key)
        self.report.states += 1
        visits = dict(state.visits)
        chain = self.chains[state.chain][1]
        successors = []
        for task in ready:
            if visits.get(task.stage, 0) >= MAX_VISITS:
                continue  # bounded: this task was already done twice on this path
            when = max(state.now, task.actionable_from or state.now)
            if task.deadline and when >= task.deadline:
                continue  # its window never opens before it lapses: only the lapse below remains
            for label, data in self._samples(task.stage):
                step = f"{task.label}：{label}"
                nxt = self._complete(state, task, data, when, chain, step)
                if nxt is not None:
                    counted = {**visits, task.stage: visits.get(task.stage, 0) + 1}
                    successors.append(
                        _State(
                            nxt.to_json(),
                            when,
                            (*state.path, step),
                            tuple(sorted(counted.items())),
                            state.chain,
                        )
                    )
        if timers:
            successors += self._fire(app, state, ready, timers[0])
        return successors

    def _complete(self, state: _State, task, data: dict, when: datetime, chain: dict, step: str):
        app = Application.restore(self.deployment, state.json, SimulatedClock(when))
        try:
            app.complete(task.stage, self._actor(task, chain), data)
        except FormInvalid as exc:
            detail = "；".join(exc.errors.values())
            self._problem(
                task.stage, task.label, f"按表单生成的数据未通过校验：{detail}", (*state.path, step)
            )
        except OutsideWindow:
            return None  # windows are the campaign lint's business; this path can only lapse
        except ZhichengError as exc:
            self._problem(task.stage, task.label, f"办理后出错：{exc}", (*state.path, step))
        except Exception as exc:  # noqa: BLE001 -- a diagram can fail in any way; report, never raise
            self._problem(
                task.stage, task.label, f"办理后出错：{type(exc).__name__}: {exc}", (*state.path, step)
            )
        else:
            return app
        return None

    def _fire(self, app: Application, state: _State, ready, timer) -> list[_State]:
        """Let the earliest timer fire: the public notice ending, or a deadline passing (a lapse)."""
        if ready:
            lapse = (timer.name, app.data.get("return_stage"))
            if lapse in self.lapses:
                return []  # this deadline was already let pass from an equivalent position
            self.lapses.add(lapse)
            step = "、".join(f"{t.label}：逾期未办理" for t in ready)
        else:
            spec = self.deployment.spec.task_specs.get(timer.name)
            step = f"{getattr(spec, 'bpmn_name', None) or timer.name}：时间到"
        when = max(state.now, timer.due_at)
        fired = Application.restore(self.deployment, state.json, SimulatedClock(when))
        try:
            fired.advance()
        except Exception as exc:  # noqa: BLE001
            stage, label = (ready[0].stage, ready[0].label) if ready else (timer.name, step)
            self._problem(stage, label, f"定时器触发后出错：{exc}", (*state.path, step))
            return []
        return [_State(fired.to_json(), when, (*state.path, step), state.visits, state.chain)]

    def _finished(self, app: Application, state: _State) -> None:
        end = app._end_event()
        if not end:
            self._problem(
                *self._last(app), "之后流程结束了，但没有到达任何结束事件（该任务没有后续连线？）", state.path
            )
            return
        self.report.ends[end] += 1

    def _last(self, app: Application) -> tuple[str, str]:
        """The user task completed last on this path (where a dead end or a missing end event begins)."""
        stage = app.workflow.last_task.data.get("last_stage") if app.workflow.last_task else None
        stage = stage or ""
        spec = self.deployment.spec.task_specs.get(stage)
        return stage, (getattr(spec, "bpmn_name", None) or stage)

    def _problem(self, stage: str, label: str, message: str, path) -> None:
        problem = DryRunProblem(stage, label, message, tuple(path))
        if all((p.stage, p.message) != (stage, message) for p in self.report.problems):
            self.report.problems.append(problem)


def _shape(app: Application, ready, timers) -> tuple:
    """Where the application is and what its data says, minus what differs between equivalent paths."""
    data = {k: v for k, v in app.data.items() if k not in _VOLATILE and not k.endswith(COMPLETED_AT_SUFFIX)}
    return (
        tuple(sorted(t.stage for t in ready)),
        tuple(sorted(t.name for t in timers)),
        json.dumps(data, sort_keys=True, default=str, ensure_ascii=False),
    )


def dry_run_folder(path, campaign=None) -> tuple[DryRunReport | None, Deployment | None, str]:
    """Dry-run a BPMN file or folder with a campaign (default: the folder's 2020 campaign file).

    Returns (report, deployment, note); report is None when there is no campaign to run with (the note says
    why). Raises ConfigError when the files do not build a deployment.
    """
    from pathlib import Path

    from .deployment import DEFAULT_CAMPAIGN, build_deployment, read_sources

    path = Path(path)
    root = path if path.is_dir() else path.parent
    campaign_path = Path(campaign) if campaign else root / DEFAULT_CAMPAIGN
    if not campaign_path.exists() and not (root / campaign_path).exists():
        return None, None, f"未试运行：没有活动文件 {campaign_path}（用 --campaign 指定）"
    sources = read_sources(root, campaign_path)
    if path.is_file():  # only the file asked about, not its neighbours in the folder
        sources = {k: v for k, v in sources.items() if not k.endswith(".bpmn") or k == path.name}
    deployment = build_deployment(sources)
    report = dry_run(deployment)
    return report, deployment, report.summary()
