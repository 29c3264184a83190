"""One application's workflow, in memory: start, ready tasks, complete, fire timers, status.

Domain queries over a SpiffWorkflow instance (as spiff-example-cli's instance wrapper). Persistence,
history and indexes wrap this (engine/store.py); this module never touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import rules, spiff
from .deployment import Deployment
from .errors import (
    ActionRefused,
    AlreadyHandled,
    FormInvalid,
    NotPermitted,
    NotYetOpen,
    WindowClosed,
    ZhichengError,
)
from .forms import validate_form
from .scripting import ClockedScriptEngine
from .timers import parse_instant

# Fields a review form writes; cleared before a task is re-done so an old decision never steers a gateway.
REVIEW_FIELDS = ("decision", "opinion", "reason")


class EngineError(ZhichengError):
    """The workflow raised while running; the application is left as it was before the action."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a user and their (org id, role) memberships."""

    user_id: int
    memberships: frozenset = frozenset()
    name: str = ""

    def roles_in(self, org_id) -> set[str]:
        return {role for org, role in self.memberships if org == org_id}


@dataclass(frozen=True)
class ReadyTask:
    stage: str
    label: str
    lane: str
    tier: str
    org_id: int | None
    actionable_from: datetime | None
    deadline: datetime | None


@dataclass(frozen=True)
class DueTimer:
    name: str
    due_at: datetime


@dataclass(frozen=True)
class Status:
    status: str
    stage: str | None
    waiting_org: int | None
    deadline: datetime | None
    actionable_from: datetime | None = None
    responsible_org: int | None = None


@dataclass
class Completion:
    """What one completed task did, for the history."""

    stage: str
    actor_id: int
    org_id: int | None
    data: dict
    at: datetime
    fired: list = field(default_factory=list)


class Application:
    """A declaration's workflow bound to its deployment and the engine clock."""

    def __init__(self, deployment: Deployment, workflow: BpmnWorkflow, clock):
        self.deployment = deployment
        self.workflow = workflow
        self.clock = clock
        self.model = deployment.model
        self.workflow.script_engine = ClockedScriptEngine(deployment.campaign, clock, deployment.model)
        # Keep a snapshot to undo a failed action in memory. A caller that throws the object away on any
        # error (the store's unit of work rolls back and reloads) may turn this off and save a serialization.
        self.reset_on_error = True
        self._walk_cache = (
            None  # (workflow, ready user tasks, waiting timers), dropped whenever the engine runs
        )

    # ---- lifecycle -------------------------------------------------------------------------
    @classmethod
    def start(
        cls, deployment: Deployment, clock, *, applicant_id: int, chain: dict, committees: dict | None = None
    ) -> Application:
        """Start a declaration for an applicant whose unit has the review `chain` (tier -> org id).

        The tiers are the BPMN lanes' (engine.stages); an optional tier's presence is `has_<tier>`.
        `committees` maps a series code to the committee that receives declarations of that series: when a
        completed task sets `series`, the chain's committee becomes that series' committee (the one the org
        tree put there stays for a series no committee claims).
        """
        model = deployment.model
        for tier in model.required_tiers:
            if not chain.get(tier):
                raise ActionRefused(f"所在单位的审核链不完整：缺少{tier}，请联系上级主管部门", tier=tier)
        workflow = spiff.ZhichengWorkflow(deployment.spec, deployment.subprocess_specs)
        app = cls(deployment, workflow, clock)
        start = workflow.get_tasks(state=TaskState.READY)[0]
        start.data.update(
            {
                "applicant_id": applicant_id,
                "chain": {k: chain.get(k) for k in model.tiers},
                **{f"has_{t}": bool(chain.get(t)) for t in sorted(model.optional_tiers)},
                "return_stage": None,
                "return_count": 0,
                "notice_done": False,
                "last_stage": None,
                "reviews": [],
                # Only when given: histories recorded before series routing replay to the very same state.
                **(
                    {"committees": {str(k): int(v) for k, v in committees.items()}}
                    if committees is not None
                    else {}
                ),
            }
        )
        app._run_engine()
        return app

    @classmethod
    def restore(cls, deployment: Deployment, state_json: str, clock) -> Application:
        workflow = spiff.state_from_json(state_json, deployment.spec, deployment.subprocess_specs)
        return cls(deployment, workflow, clock)

    def to_json(self) -> str:
        return spiff.state_to_json(self.workflow)

    def rebind(self, clock) -> None:
        """Run on another clock from now on (a cached workflow serves calls that each bring their clock)."""
        self.clock = clock
        self.workflow.script_engine.clock = clock

    # ---- queries ---------------------------------------------------------------------------
    @property
    def data(self) -> dict:
        """The current process data (of the ready task, else of the last task)."""
        ready = self._ready_user_tasks()
        if ready:
            return ready[0].data
        waiting = self._waiting_timer_tasks()
        if waiting:
            return waiting[0].data
        return self.workflow.last_task.data if self.workflow.last_task else {}

    @property
    def chain(self) -> dict:
        return self._start_data()["chain"]

    @property
    def applicant_id(self) -> int:
        return self._start_data()["applicant_id"]

    def ready_tasks(self) -> list[ReadyTask]:
        memo = self._walk_memo()
        if "ready" not in memo:
            memo["ready"] = [self._describe(t) for t in self._walk()[0]]
        return list(memo["ready"])

    def due_timers(self) -> list[DueTimer]:
        """Every timer waiting to fire, with when it is due; computed once until the engine runs again
        (a timer's due time is set when the engine makes it wait)."""
        memo = self._walk_memo()
        if "due" not in memo:
            due = []
            for task in self._waiting_timer_tasks():
                value = task._get_internal_data("event_value")
                if value is not None:
                    due.append(DueTimer(task.task_spec.name, parse_instant(value)))
            memo["due"] = sorted(due, key=lambda d: d.due_at)
        return list(memo["due"])

    def status(self) -> Status:
        """Status, stage, waiting org and deadline; computed once until the engine runs again."""
        memo = self._walk_memo()
        if "status" not in memo:
            memo["status"] = self._status()
        return memo["status"]

    def _status(self) -> Status:
        if self.workflow.is_completed():
            end = self._end_event()
            outcome = self.model.outcome_of_end_event(end)
            responsible = None
            if outcome.status == "expired" and not self.model.applicant_responsible(outcome.stage):
                responsible = self._org_for_stage(outcome.stage)
            return Status(outcome.status, outcome.stage, None, None, responsible_org=responsible)
        ready = self.ready_tasks()
        if ready:
            t = ready[0]
            return Status(
                self.model.status_for_waiting(t.stage), t.stage, t.org_id, t.deadline, t.actionable_from
            )
        for timer in self.due_timers():
            wait = self.model.waits.get(timer.name)
            if wait is not None:
                return Status(wait.status, wait.id, self.chain.get(wait.tier), timer.due_at)
        raise EngineError("申请书既未结束也没有待办事项（流程状态异常）")

    def positions(self) -> tuple[set[str], set[str]]:
        """BPMN ids where the application is now (ready or waiting) and every id it has passed through."""
        current, done = set(), set()
        for task in self.workflow.get_tasks():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                done.add(bpmn_id)
            elif task.state == TaskState.READY and isinstance(task.task_spec, UserTask):
                current.add(bpmn_id)
            elif task.state == TaskState.WAITING and task.task_spec.name in self.model.waits:
                current.add(bpmn_id)
        return current, done

    # ---- actions ---------------------------------------------------------------------------
    def complete(self, stage: str, actor: Actor, form_data: dict) -> Completion:
        """Complete the ready task at `stage` as `actor` with `form_data`; refusals are typed."""
        now = self.clock.now()
        fired = self.advance()
        task = self._ready_task(stage)
        ready = self._describe(task)
        self._check_actor(ready, actor)
        self._check_window(ready, now)
        schema = self.deployment.form_schema(stage)
        if schema is not None:
            validate_form(schema, form_data)  # also refuses any field the schema does not declare
        elif form_data:  # no form declares any field: nothing may be merged into the process data
            raise FormInvalid({str(k): f"{k}：此环节没有表单，不能提交数据" for k in form_data})
        before = self.to_json() if self.reset_on_error else None
        try:
            self._apply(task, stage, actor, form_data, now, ready.org_id)
            self._route_by_series(task)
            task.run()
            self._run_engine()
        except ZhichengError:
            self._discard(before)
            raise
        except Exception as exc:  # never keep a workflow that raised
            self._discard(before)
            raise EngineError(f"流程执行出错，操作未生效：{exc}", stage=stage) from exc
        return Completion(stage, actor.user_id, ready.org_id, dict(form_data), now, fired)

    def advance(self) -> list[DueTimer]:
        """Fire every timer due at the clock's now; return the timers that fired."""
        fired: list[DueTimer] = []
        for _ in range(20):  # a fired timer may ready a task whose own deadline is already due
            now = self.clock.now()
            before = self.due_timers()
            due = [t for t in before if t.due_at <= now]
            if not due:
                break  # the common case: nothing to do, nothing to serialize
            before_json = self.to_json() if self.reset_on_error else None
            try:
                self.workflow.refresh_timers()
                self._run_engine()
            except Exception as exc:
                self._discard(before_json)
                raise EngineError(f"定时器执行出错：{exc}") from exc
            after = {t.name for t in self.due_timers()}
            newly = [t for t in due if t.name not in after]
            if not newly:
                break
            fired.extend(newly)
        return fired

    # ---- internals -------------------------------------------------------------------------
    def _run_engine(self):
        self._walk_cache = None
        try:
            self.workflow.run_engine()  # do_engine_steps(); refresh_timers(); do_engine_steps()
        finally:
            self._walk_cache = None

    def _discard(self, before: str | None):
        """Undo a failed action: restore the snapshot, or mark the object unusable when there is none."""
        if before is not None:
            self._reset(before)
        else:
            self.workflow = None  # the caller promised to reload; any further use fails loudly

    def _reset(self, state_json: str):
        self._walk_cache = None
        self.workflow = spiff.state_from_json(
            state_json, self.deployment.spec, self.deployment.subprocess_specs
        )
        self.workflow.script_engine = ClockedScriptEngine(
            self.deployment.campaign, self.clock, self.deployment.model
        )

    def _start_data(self) -> dict:
        return self.workflow.task_tree.children[0].data if self.workflow.task_tree.children else {}

    def _walk(self):
        """Ready user tasks and waiting timers in one pass over the task tree, kept until the engine runs."""
        if self._walk_cache is None or self._walk_cache[0] is not self.workflow:
            ready, waiting = [], []
            for t in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
                if t.state == TaskState.READY and isinstance(t.task_spec, UserTask):
                    ready.append(t)
                elif t.state == TaskState.WAITING and isinstance(
                    getattr(t.task_spec, "event_definition", None), TimerEventDefinition
                ):
                    waiting.append(t)
            self._walk_cache = (self.workflow, ready, waiting, {})
        return self._walk_cache[1], self._walk_cache[2]

    def _walk_memo(self) -> dict:
        """Answers derived from the current walk (ready tasks described, status); dropped with the walk."""
        self._walk()
        return self._walk_cache[3]

    def _ready_user_tasks(self):
        return list(self._walk()[0])

    def _waiting_timer_tasks(self):
        return list(self._walk()[1])

    def _ready_task(self, stage: str):
        for task in self._ready_user_tasks():
            if task.task_spec.name == stage:
                return task
        status = self.status()
        if status.status in ("expired", "confirmed", "not_recommended"):
            raise ActionRefused(
                f"该申请书已结束（{_STATUS_LABELS.get(status.status, status.status)}），不能再办理",
                stage=stage,
            )
        raise AlreadyHandled(f"「{self.model.label(stage)}」当前没有待办，可能已被处理", stage=stage)

    def _describe(self, task) -> ReadyTask:
        stage = task.task_spec.name
        known = self.model.stages.get(stage)
        if known is None:
            raise EngineError(f"任务 {stage} 不是本流程的环节", stage=stage)
        return_stage = task.data.get("return_stage")
        deadline = self._boundary_deadline(task)
        if deadline is None:
            deadline = rules.stage_deadline(self.model, self.deployment.campaign, stage, return_stage)
        return ReadyTask(
            stage,
            known.label,
            known.lane,
            known.tier,
            None if known.by_applicant else self.chain.get(known.tier),
            rules.actionable_from(self.model, self.deployment.campaign, stage, return_stage),
            deadline,
        )

    def _boundary_deadline(self, task):
        """The due time of the interrupting timer attached to `task`, as the BPMN computed it."""
        parent = task.parent
        if parent is None:
            return None
        for sibling in parent.children:
            if sibling is task or sibling.state != TaskState.WAITING:
                continue
            if isinstance(getattr(sibling.task_spec, "event_definition", None), TimerEventDefinition):
                value = sibling._get_internal_data("event_value")
                if value:
                    return parse_instant(value)
        return None

    def _org_for_stage(self, stage: str):
        known = self.model.stages.get(stage)
        return None if known is None or known.by_applicant else self.chain.get(known.tier)

    def _check_actor(self, ready: ReadyTask, actor: Actor):
        if self.model.stages[ready.stage].by_applicant:
            if actor.user_id != self.applicant_id:
                raise NotPermitted("只有申报人本人可以办理此事项", stage=ready.stage)
            return
        allowed = self.model.roles(ready.stage)
        if not (actor.roles_in(ready.org_id) & allowed):
            raise NotPermitted(
                f"您不是本申请书当前审核单位的审核人员，不能办理「{ready.label}」", stage=ready.stage
            )

    def _check_window(self, ready: ReadyTask, now: datetime):
        if ready.actionable_from and now < ready.actionable_from:
            raise NotYetOpen(ready.label, ready.actionable_from, stage=ready.stage)
        if ready.deadline and now >= ready.deadline:
            raise WindowClosed(ready.label, ready.deadline, stage=ready.stage)

    def _apply(self, task, stage: str, actor: Actor, form_data: dict, now: datetime, org_id):
        for key in REVIEW_FIELDS:
            task.data.pop(key, None)
        task.data.update(form_data)
        task.data["last_stage"] = stage
        task.data[f"{stage}_completed_at"] = now.isoformat()
        if not self.model.stages[stage].by_applicant:
            task.data["reviews"] = [
                *task.data.get("reviews", []),
                {
                    "stage": stage,
                    "decision": form_data.get("decision"),
                    "opinion": form_data.get("opinion"),
                    "reason": form_data.get("reason"),
                    "org_id": org_id,
                    "actor_id": actor.user_id,
                    "actor_name": actor.name,
                    "at": now.isoformat(),
                },
            ]

    def _route_by_series(self, task) -> None:
        """The declaration's series decides its committee (DESIGN: one committee per series, or one serving
        several), not the parent of tier 3."""
        series = task.data.get("series")
        committee = (self._start_data().get("committees") or {}).get(series) if series else None
        if committee:
            self._start_data()["chain"]["committee"] = committee
            task.data["chain"] = dict(self._start_data()["chain"])

    def _end_event(self) -> str:
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED):
            if (
                isinstance(task.task_spec, EndEvent)
                and task.task_spec.name in self.deployment.spec.task_specs
                and task.workflow is self.workflow
                and task.task_spec.bpmn_id
            ):
                return task.task_spec.bpmn_id
        return ""


_STATUS_LABELS = {"expired": "逾期失效", "confirmed": "已完成现场确认", "not_recommended": "不予上报"}
