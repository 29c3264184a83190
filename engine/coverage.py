"""Scenario coverage: which sequence flows, gateway branches and boundary timers the scenarios exercised.

Read from the workflows' task trees after a run: SpiffWorkflow makes each task a child of the one it came
from (boundary-event bookkeeping tasks carry no BPMN id and are skipped), so a task reached from the task
before it has traversed the sequence flow between them. Counted per BPMN file across every scenario that
ran on it; `render_svg` draws the diagram with the covered flows marked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree
from SpiffWorkflow.util.task import TaskState

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_NS = {"bpmn": _BPMN}
_REACHED = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    name: str


@dataclass(frozen=True)
class Model:
    """The parts of one BPMN file coverage counts, with the names people know them by."""

    flows: dict[str, Flow]
    gateways: dict[str, tuple[str, ...]]  # gateway id -> its outgoing flow ids (its branches)
    timers: tuple[str, ...]  # boundary timer event ids (deadlines)
    names: dict[str, str]


@lru_cache(maxsize=16)
def model(bpmn_text: str) -> Model:
    root = etree.fromstring(bpmn_text.encode("utf-8"))
    names = {
        el.get("id"): el.get("name") or "" for el in root.iter() if isinstance(el.tag, str) and el.get("id")
    }
    flows = {
        f.get("id"): Flow(f.get("id"), f.get("sourceRef"), f.get("targetRef"), f.get("name") or "")
        for f in root.iterfind(".//bpmn:sequenceFlow", _NS)
    }
    gateways = {}
    for tag in ("exclusiveGateway", "inclusiveGateway", "eventBasedGateway"):
        for gw in root.iterfind(f".//bpmn:{tag}", _NS):
            branches = tuple(f.id for f in flows.values() if f.source == gw.get("id"))
            if len(branches) > 1:
                gateways[gw.get("id")] = branches
    timers = tuple(
        ev.get("id")
        for ev in root.iterfind(".//bpmn:boundaryEvent", _NS)
        if ev.find("bpmn:timerEventDefinition", _NS) is not None
    )
    return Model(flows, gateways, timers, names)


@dataclass
class FileCoverage:
    """Coverage of one BPMN file: the flows traversed and the boundary timers fired."""

    name: str
    text: str
    flows: set[str] = field(default_factory=set)
    timers: set[str] = field(default_factory=set)
    runs: int = 0

    @property
    def model(self) -> Model:
        return model(self.text)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def add(self, workflow) -> None:
        """Count what one workflow (an application of a scenario) went through."""
        m = self.model
        self.flows |= taken_flows(self.text, workflow)
        for task in workflow.get_tasks(state=TaskState.COMPLETED):
            if getattr(task.task_spec, "bpmn_id", None) in m.timers:
                self.timers.add(task.task_spec.bpmn_id)
        self.runs += 1

    def branches(self) -> tuple[int, int]:
        all_branches = [f for branches in self.model.gateways.values() for f in branches]
        return sum(1 for f in all_branches if f in self.flows), len(all_branches)

    def report(self) -> str:
        """The coverage of this file in Chinese, listing every flow, branch and timer not exercised."""
        m = self.model
        covered_branches, total_branches = self.branches()
        lines = [
            f"流程图 {self.name}（{self.runs} 份申请书）：",
            f"  顺序流 {_ratio(len(self.flows & set(m.flows)), len(m.flows))}",
            f"  网关分支 {_ratio(covered_branches, total_branches)}",
            f"  边界定时器（逾期） {_ratio(len(self.timers), len(m.timers))}",
        ]
        for gw, branches in m.gateways.items():
            for flow_id in branches:
                if flow_id not in self.flows:
                    flow = m.flows[flow_id]
                    lines.append(
                        f"  警告：网关「{m.names.get(gw) or gw}」的分支「{flow.name or m.names.get(flow.target) or flow.target}」"
                        f"（{flow_id}）没有场景走过"
                    )
        for timer in m.timers:
            if timer not in self.timers:
                lines.append(f"  未触发的定时器：{self.describe(timer)}")
        branch_flows = {f for branches in m.gateways.values() for f in branches}
        for flow_id, flow in m.flows.items():
            # a deadline's own flow is reported with its timer above
            if flow_id not in self.flows and flow_id not in branch_flows and flow.source not in m.timers:
                lines.append(
                    f"  未走过的顺序流：{m.names.get(flow.source) or flow.source} → "
                    f"{m.names.get(flow.target) or flow.target}（{flow_id}）"
                )
        return "\n".join(lines)

    def describe(self, timer: str) -> str:
        m = self.model
        attached = _attached(self.text).get(timer, "")
        return f"「{m.names.get(attached) or attached}」的{m.names.get(timer) or '定时器'}（{timer}）"

    def svg(self) -> str:
        """The diagram with covered flows (and the nodes they reach) marked, uncovered flows dashed."""
        from .audit.diagram import render_svg

        m = self.model
        reached = {m.flows[f].target for f in self.flows if f in m.flows} | self.timers
        return render_svg(self.text, done=reached, flows=self.flows, title=f"场景覆盖：{self.name}")


class Coverage:
    """Coverage over a scenario run, per BPMN file (by name and content)."""

    def __init__(self):
        self.files: dict[tuple[str, str], FileCoverage] = {}

    def add(self, deployment, workflow) -> None:
        for name, text in deployment.sources.items():
            if name.endswith(".bpmn"):
                key = (name, text)
                if key not in self.files:
                    self.files[key] = FileCoverage(name, text)
                self.files[key].add(workflow)

    def __iter__(self):
        return iter(self.files.values())


def taken_flows(bpmn_text: str, workflow) -> set[str]:
    """Ids of the sequence flows one workflow traversed, into its current tasks included.

    The application's diagram colours exactly these (not every flow between two reached nodes: a return at
    tier 2 reaches the correction task without the unit's return flow having been taken).
    """
    by_pair = {(f.source, f.target): f.id for f in model(bpmn_text).flows.values()}
    flows = set()
    for task in workflow.get_tasks(state=_REACHED):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        source = _previous(task) if bpmn_id else None
        if source and (source, bpmn_id) in by_pair:
            flows.add(by_pair[(source, bpmn_id)])
    return flows


def _previous(task) -> str | None:
    """The BPMN id of the task this one was reached from (skipping SpiffWorkflow's own bookkeeping tasks)."""
    parent = task.parent
    while parent is not None:
        bpmn_id = getattr(parent.task_spec, "bpmn_id", None)
        if bpmn_id:
            return bpmn_id
        parent = parent.parent
    return None


@lru_cache(maxsize=16)
def _attached(bpmn_text: str) -> dict[str, str]:
    root = etree.fromstring(bpmn_text.encode("utf-8"))
    return {ev.get("id"): ev.get("attachedToRef") for ev in root.iterfind(".//bpmn:boundaryEvent", _NS)}


def _ratio(covered: int, total: int) -> str:
    return f"{covered}/{total}（{100 * covered // total if total else 100}%）"
