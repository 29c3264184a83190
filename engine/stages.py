"""The stage model: what a deployment's BPMN says about its stages, read once, asked by everything else.

Stage ids, their Chinese labels (the task's `name`), their order along the approval path, the stage after
each (for return-cycle deadlines), the lane acting on each and the tier of the applicant's review chain
that lane stands for, the roles that may act, the status shown while an application waits there, the
deadline timer and lapse end event of each task, and what each end event means.

Where the BPMN says it (README "Policy staff" documents every property):

- lane `tier` property: the key of the review chain the lane stands for (`applicant` for the applicant
  lane; `unit`, `tier2`, `tier3`, `committee` for the org tree's walk up from the applicant's unit);
  `optional="true"` when a chain may lack it (the engine then sets `has_<tier>` for gateways).
- lane `orgType` property: a lane for a tier outside that walk names the org type that acts (e.g.
  `city_hr_office`); `tier` then defaults to the org type. When an application starts, the acting org is
  the unit's ancestor of that type, else the one active org of that type (engine.accounts.tiers.acting_org).
- user task `roles` (comma separated, default `admin,reviewer`), `waitingStatus` (default `in_review`),
  `lapseResponsible="applicant"` (a lapse there is the applicant's, as for paper forms and fee).
- timer catch event between stages (the public notice) `waitingStatus`; end event `outcome`.
- order: derived from the sequence flows (longest path from the start, return loops cut, default and
  unconditioned flows walked first); correction stages are the applicant's tasks after the first; a
  review stage the correction task routes back to directly (not through its default flow) is a direct
  return: its return deadlines come from the campaign's `[resubmission]` dates.

Properties are `spiffworkflow:property` (as the forms) or `camunda:property` (Camunda Modeler's
"Extension properties"), inside the element's `extensionElements`.

A BPMN deployed before this model existed (no lane has a `tier`) is read with the defaults engine
version 1 applied, from `engine/interpretations/v1.toml`, so its applications keep their meaning.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .accounts.models import ORG_TYPES
from .accounts.tiers import CHAIN_TIERS, TYPE_LABELS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "camunda": CAMUNDA_NS}

APPLICANT_TIER = "applicant"
DEFAULT_ROLES = frozenset({"admin", "reviewer"})
# The statuses an application can have while it waits, and at its end (pages translate them).
WAITING_STATUSES = ("draft", "returned", "submitted", "in_review", "public_notice", "accepted")
END_STATUSES = ("expired", "confirmed", "not_recommended", "ended")
KNOWN_ROLES = ("admin", "reviewer", "desk")

_TIER_NAME = re.compile(r"[a-z][a-z0-9_]{0,19}")  # work_item.tier and application_org.tier hold 20
_V1 = Path(__file__).with_name("interpretations") / "v1.toml"


@dataclass(frozen=True)
class Outcome:
    """What an end event of the process means for the application."""

    status: str
    stage: str | None = None


@dataclass(frozen=True)
class Stage:
    """A user task of the process, as the rest of the system sees it."""

    id: str
    label: str
    lane: str  # the lane's name
    tier: str  # key of the review chain; "applicant" for the applicant's own tasks
    roles: frozenset
    waiting_status: str
    applicant_responsible: bool
    form: str | None
    documentation: str
    deadline_timer: str | None  # id of the interrupting boundary timer
    lapse_end: str | None  # id of the end event that timer leads to
    line: int = 0

    @property
    def by_applicant(self) -> bool:
        return self.tier == APPLICANT_TIER


@dataclass(frozen=True)
class Wait:
    """A timer catch event an application waits at between stages (the public notice)."""

    id: str
    label: str
    tier: str
    status: str
    after_stage: str | None = None  # the stage whose completion starts the wait
    before_stage: str | None = None  # the stage it hands the application to
    documentation: str = ""


@dataclass(frozen=True)
class ModelProblem:
    file: str
    line: int
    element_id: str
    message: str


@dataclass
class ProcessModel:
    process_id: str
    stages: dict[str, Stage]  # every user task, in order (approval path first, then corrections)
    order: tuple[str, ...]  # the approval path: user tasks an application climbs, submission first
    corrections: tuple[str, ...]
    direct_returns: frozenset
    waits: dict[str, Wait]
    outcomes: dict[str, Outcome]
    tiers: tuple[str, ...]  # review-chain keys, in order of first use
    optional_tiers: frozenset
    # tiers outside the org tree's walk -> the org type that acts there (lane `orgType`)
    org_types: dict = field(default_factory=dict)
    # approval-path stage -> the stages it can come from, each with the waits passed on the way
    predecessors: dict = field(default_factory=dict)
    legacy: bool = False  # read with engine version 1's defaults
    problems: list[ModelProblem] = field(default_factory=list)

    # ---- questions -------------------------------------------------------------------------
    @property
    def submission(self) -> str:
        return self.order[0]

    @property
    def review_order(self) -> tuple[str, ...]:
        """Stages on the approval path acted on by an org, in order."""
        return tuple(s for s in self.order if not self.stages[s].by_applicant)

    @property
    def applicant_stages(self) -> tuple[str, ...]:
        return tuple(s for s, st in self.stages.items() if st.by_applicant)

    @property
    def required_tiers(self) -> tuple[str, ...]:
        return tuple(t for t in self.tiers if t not in self.optional_tiers)

    def lane_names(self) -> dict[str, str]:
        """Each tier's lane name (the lane of its first stage), for messages."""
        out: dict[str, str] = {}
        for st in self.stages.values():
            out.setdefault(st.tier, st.lane)
        return out

    def label(self, stage: str | None) -> str:
        if stage in self.stages:
            return self.stages[stage].label
        if stage in self.waits:
            return self.waits[stage].label
        return stage or ""

    def labels(self) -> dict[str, str]:
        return {
            **{s: st.label for s, st in self.stages.items()},
            **{w: x.label for w, x in self.waits.items()},
        }

    def after(self, stage: str) -> str | None:
        """The stage after `stage` on the approval path (None for the last)."""
        i = self.order.index(stage)
        return self.order[i + 1] if i + 1 < len(self.order) else None

    def roles(self, stage: str) -> frozenset:
        return self.stages[stage].roles if stage in self.stages else DEFAULT_ROLES

    def status_for_waiting(self, stage: str) -> str:
        if stage in self.stages:
            return self.stages[stage].waiting_status
        if stage in self.waits:
            return self.waits[stage].status
        return "in_review"

    def outcome_of_end_event(self, end_event_id: str) -> Outcome:
        return self.outcomes.get(end_event_id, Outcome("ended", None))

    def applicant_responsible(self, stage: str | None) -> bool:
        return stage in self.stages and self.stages[stage].applicant_responsible

    def in_return_cycle(self, stage: str, return_stage: str | None) -> bool:
        """True when `stage` is being re-done because of a return at `return_stage`."""
        if not return_stage or stage in self.corrections:
            return bool(return_stage)
        if return_stage in self.direct_returns:
            return stage == return_stage  # the correction goes straight back to the returning stage
        review = self.review_order
        if stage not in review or return_stage not in review:
            return False
        return review.index(stage) <= review.index(return_stage)


# ---- building ----------------------------------------------------------------------------------


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def properties(el) -> dict[str, str]:
    """An element's extension properties (spiffworkflow: or camunda:), by name."""
    out = {}
    for path in (
        "bpmn:extensionElements/camunda:properties/camunda:property",
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
    ):
        for p in el.iterfind(path, NS):
            if p.get("name"):
                out[p.get("name")] = p.get("value") or ""
    return out


def _v1_defaults() -> dict:
    return tomllib.loads(_V1.read_text(encoding="utf-8"))


def find_process(documents, process_id: str | None):
    """(file, process element) of `process_id` (else the first executable process) in lxml documents."""
    for file, tree in documents:
        root = tree.getroot() if hasattr(tree, "getroot") else tree
        for proc in root.iterfind("bpmn:process", NS):
            if process_id is None or proc.get("id") == process_id:
                return str(file), proc
    return None, None


def build_model(documents, process_id: str | None = None) -> ProcessModel:
    """The stage model of `process_id` in `documents` ((file name, lxml tree) pairs).

    Never raises on a bad diagram: what cannot be understood is listed in `model.problems`, each naming
    the element; `engine.deployment` refuses a deployment whose model has problems.
    """
    file, proc = find_process(documents, process_id)
    if proc is None:
        return ProcessModel(
            process_id or "",
            {},
            (),
            (),
            frozenset(),
            {},
            {},
            (),
            frozenset(),
            problems=[ModelProblem("", 0, process_id or "", f"找不到流程 {process_id!r}")],
        )
    return _Builder(file, proc).build()


class _Builder:
    def __init__(self, file: str, proc):
        self.file, self.proc = file, proc
        self.problems: list[ModelProblem] = []
        self.nodes = {el.get("id"): el for el in proc if isinstance(el.tag, str) and el.get("id")}
        self.flows = [el for el in proc.iterfind("bpmn:sequenceFlow", NS)]
        lanes = list(proc.iterfind(".//bpmn:lane", NS))
        self.legacy = bool(lanes) and not any({"tier", "orgType"} & set(properties(lane)) for lane in lanes)
        self.v1 = _v1_defaults() if self.legacy else {}
        self.lane_of: dict[str, object] = {}
        self.org_types: dict[str, str] = {}
        self.judged_lanes: set[str] = set()
        for lane in lanes:
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                if ref.text:
                    self.lane_of[ref.text.strip()] = lane

    def problem(self, el, message: str) -> None:
        self.problems.append(ModelProblem(self.file, el.sourceline or 0, el.get("id", ""), message))

    def props(self, el) -> dict[str, str]:
        found = properties(el)
        if self.legacy:
            if _local(el) == "lane":
                return {**self.v1.get("lanes", {}).get(el.get("name") or "", {}), **found}
            return {**self.v1.get("elements", {}).get(el.get("id") or "", {}), **found}
        return found

    # -- the flow graph --
    def outgoing(self, node_id: str) -> list:
        node = self.nodes.get(node_id)
        default = node.get("default") if node is not None else None
        flows = [f for f in self.flows if f.get("sourceRef") == node_id]

        def rank(f):
            conditioned = f.find("bpmn:conditionExpression", NS) is not None
            return (0 if f.get("id") == default else 1 if not conditioned else 2, self.flows.index(f))

        return sorted(flows, key=rank)

    def ranks(self) -> dict[str, int]:
        """Longest distance from a start event over the flows, return loops (back edges) cut."""
        starts = [i for i, el in self.nodes.items() if _local(el) == "startEvent"]
        edges: dict[str, list[str]] = {}
        state: dict[str, int] = {}  # 1 on the stack, 2 done
        post: list[str] = []
        for start in starts:
            stack = [(start, iter(self.outgoing(start)))]
            state[start] = 1
            while stack:
                node, it = stack[-1]
                flow = next(it, None)
                if flow is None:
                    state[node] = 2
                    post.append(node)
                    stack.pop()
                    continue
                target = flow.get("targetRef")
                if state.get(target) == 1:
                    continue  # a return loop
                edges.setdefault(node, []).append(target)
                if target not in state:
                    state[target] = 1
                    stack.append((target, iter(self.outgoing(target))))
        rank = {s: 0 for s in starts}
        for node in reversed(post):  # topological order
            for target in edges.get(node, []):
                rank[target] = max(rank.get(target, 0), rank.get(node, 0) + 1)
        return rank

    def tasks_after(self, node_id: str) -> list[str]:
        """User tasks reached from `node_id` through nodes that are not user tasks."""
        out, seen = [], set()
        todo = [f.get("targetRef") for f in self.outgoing(node_id)]
        while todo:
            n = todo.pop(0)
            if n in seen or n not in self.nodes:
                continue
            seen.add(n)
            if _local(self.nodes[n]) == "userTask":
                out.append(n)
            else:
                todo += [f.get("targetRef") for f in self.outgoing(n)]
        return out

    def predecessors(self, stage: str, corrections: set, waits: set) -> list[tuple[str, tuple]]:
        """Approval-path user tasks upstream of `stage`, each with the waits passed (longest such path)."""
        found: dict[str, tuple] = {}
        todo = [(stage, ())]
        seen = set()
        while todo:
            n, passed = todo.pop(0)
            for f in self.flows:
                if f.get("targetRef") != n:
                    continue
                src = f.get("sourceRef")
                if src not in self.nodes or (src, passed) in seen or src in passed:
                    continue
                seen.add((src, passed))
                if _local(self.nodes[src]) == "userTask":
                    if src not in corrections and len(passed) >= len(found.get(src, ())):
                        found[src] = passed
                    continue
                todo.append((src, passed + ((src,) if src in waits else ())))
        return sorted(found.items())

    def task_before(self, node_id: str) -> str | None:
        """The nearest user task upstream of `node_id` (through gateways and events)."""
        todo, seen = [node_id], set()
        while todo:
            n = todo.pop(0)
            for f in self.flows:
                if f.get("targetRef") != n:
                    continue
                src = f.get("sourceRef")
                if src in seen or src not in self.nodes:
                    continue
                seen.add(src)
                if _local(self.nodes[src]) == "userTask":
                    return src
                todo.append(src)
        return None

    def lane_tier(self, node_id: str, el) -> tuple[str, str]:
        lane = self.lane_of.get(node_id)
        if lane is None:
            self.problem(el, "不在任何泳道中：把它拖进负责办理的泳道")
            return "", ""
        name = lane.get("name") or lane.get("id")
        props = self.props(lane)
        org_type = props.get("orgType", "").strip()
        tier = props.get("tier", "").strip() or org_type
        first = lane.get("id") not in self.judged_lanes
        self.judged_lanes.add(lane.get("id"))
        if first:
            self.judge_lane(lane, name, tier, org_type)
        if org_type in ORG_TYPES and tier not in CHAIN_TIERS and tier != APPLICANT_TIER:
            self.org_types[tier] = org_type
        return name, tier

    def judge_lane(self, lane, name: str, tier: str, org_type: str) -> None:
        """A lane's tier must be one the engine can resolve to an org when an application starts."""
        types = "、".join(f"{t}（{TYPE_LABELS[t]}）" for t in ORG_TYPES)
        if not tier:
            self.problem(
                lane,
                f"泳道“{name}”没有 tier 属性：在泳道的扩展属性中加 tier（申报人泳道写 applicant，"
                f"其余写审核链层级 {'、'.join(CHAIN_TIERS)}），或加 orgType 写办理机构的类型（{types}）",
            )
        elif not _TIER_NAME.fullmatch(tier):
            self.problem(
                lane,
                f"泳道“{name}”的层级名称 {tier!r} 不合规：只用小写英文字母、数字和下划线，以字母开头，"
                f"不超过 20 个字符（如 city_review）",
            )
        elif org_type and org_type not in ORG_TYPES:
            self.problem(
                lane,
                f"泳道“{name}”的 orgType {org_type!r} 不是已知的机构类型：改为 {types} 之一",
            )
        elif org_type and tier in (*CHAIN_TIERS, APPLICANT_TIER):
            self.problem(
                lane,
                f"泳道“{name}”同时写了 tier {tier!r} 和 orgType {org_type!r}：审核链层级 {tier} 由机构树"
                f"确定，不能再指定机构类型；删去 orgType，或把 tier 改为新层级的名称（如 {org_type}）",
            )
        elif not org_type and tier not in (*CHAIN_TIERS, APPLICANT_TIER):
            self.problem(
                lane,
                f"泳道“{name}”的 tier {tier!r} 不是审核链层级（{'、'.join(CHAIN_TIERS)}）：新层级的泳道"
                f"请在扩展属性中加 orgType，写由哪类机构办理（{types}）",
            )

    # -- the model --
    def build(self) -> ProcessModel:
        rank = self.ranks()
        order_of = {nid: i for i, nid in enumerate(self.nodes)}
        tasks = [i for i, el in self.nodes.items() if _local(el) == "userTask"]
        boundary = {}
        for i, el in self.nodes.items():
            if _local(el) == "boundaryEvent" and el.find("bpmn:timerEventDefinition", NS) is not None:
                if el.get("cancelActivity", "true") != "false":
                    boundary.setdefault(el.get("attachedToRef"), i)
        stages: dict[str, Stage] = {}
        tiers: list[str] = []
        optional = set()
        outcomes: dict[str, Outcome] = {}
        for tid in sorted(tasks, key=lambda t: (rank.get(t, 10**6), order_of[t])):
            el = self.nodes[tid]
            props = self.props(el)
            lane, tier = self.lane_tier(tid, el)
            lane_el = self.lane_of.get(tid)
            if tier and tier != APPLICANT_TIER and tier not in tiers:
                tiers.append(tier)
                if lane_el is not None and self.props(lane_el).get("optional", "").lower() == "true":
                    optional.add(tier)
            roles = frozenset(r.strip() for r in props.get("roles", "").split(",") if r.strip())
            for role in roles - set(KNOWN_ROLES):
                self.problem(el, f"roles 中的角色 {role!r} 不存在（可用：{'、'.join(KNOWN_ROLES)}）")
            status = props.get("waitingStatus", "").strip() or "in_review"
            if status not in WAITING_STATUSES:
                self.problem(
                    el, f"waitingStatus {status!r} 不是已知状态（可用：{'、'.join(WAITING_STATUSES)}）"
                )
            timer = boundary.get(tid)
            lapse = None
            if timer:
                ends = [
                    f.get("targetRef")
                    for f in self.outgoing(timer)
                    if _local(self.nodes.get(f.get("targetRef"), el)) == "endEvent"
                ]
                lapse = ends[0] if ends else None
                if lapse:
                    outcomes[lapse] = Outcome("expired", tid)
            doc = el.find("bpmn:documentation", NS)
            form = None
            for p in el.iterfind(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
            ):
                if p.get("name") == "formJsonSchemaFilename":
                    form = p.get("value")
            stages[tid] = Stage(
                id=tid,
                label=(el.get("name") or tid).strip(),
                lane=lane,
                tier=tier,
                roles=(roles or DEFAULT_ROLES) if tier != APPLICANT_TIER else frozenset(),
                waiting_status=status,
                applicant_responsible=tier == APPLICANT_TIER
                or props.get("lapseResponsible", "").strip() == APPLICANT_TIER,
                form=form,
                documentation=(doc.text or "").strip() if doc is not None else "",
                deadline_timer=timer,
                lapse_end=lapse,
                line=el.sourceline or 0,
            )
        applicant = [s for s in stages if stages[s].by_applicant]
        corrections = tuple(applicant[1:])
        order = tuple(s for s in stages if s not in corrections)
        if order and not stages[order[0]].by_applicant:
            self.problem(self.nodes[order[0]], "流程的第一个用户任务应在申报人泳道（申报人填报）")
        direct = set()
        for c in corrections:
            # the default route restarts the climb; any other route back is a direct return
            restart = set(self.tasks_after_default(c))
            direct.update(t for t in self.tasks_after(c) if t not in corrections and t not in restart)
        waits = {}
        for i, el in self.nodes.items():
            kind = _local(el)
            if kind == "intermediateCatchEvent" and el.find("bpmn:timerEventDefinition", NS) is not None:
                _, tier = self.lane_tier(i, el)
                status = self.props(el).get("waitingStatus", "").strip() or "in_review"
                if status not in WAITING_STATUSES:
                    self.problem(
                        el, f"waitingStatus {status!r} 不是已知状态（可用：{'、'.join(WAITING_STATUSES)}）"
                    )
                after = self.tasks_after(i)
                doc = el.find("bpmn:documentation", NS)
                waits[i] = Wait(
                    i,
                    (el.get("name") or i).strip(),
                    tier,
                    status,
                    self.task_before(i),
                    after[0] if after else None,
                    (doc.text or "").strip() if doc is not None else "",
                )
            elif kind == "endEvent" and i not in outcomes:
                status = self.props(el).get("outcome", "").strip()
                if status and status not in END_STATUSES:
                    self.problem(el, f"outcome {status!r} 不是已知结果（可用：{'、'.join(END_STATUSES)}）")
                outcomes[i] = Outcome(status or "ended", self.task_before(i) if status else None)
        return ProcessModel(
            process_id=self.proc.get("id"),
            stages=stages,
            order=order,
            corrections=corrections,
            direct_returns=frozenset(direct),
            waits=waits,
            outcomes=outcomes,
            tiers=tuple(tiers),
            optional_tiers=frozenset(optional),
            org_types=dict(self.org_types),
            predecessors={s: self.predecessors(s, set(corrections), set(waits)) for s in order},
            legacy=self.legacy,
            problems=self.problems,
        )

    def tasks_after_default(self, node_id: str) -> list[str]:
        """User tasks reached from `node_id` taking only default (or single) flows at each split."""
        out, n, seen = [], node_id, set()
        while n in self.nodes and n not in seen:
            seen.add(n)
            flows = self.outgoing(n)
            if not flows:
                break
            n = flows[0].get("targetRef")  # outgoing() puts the default flow first
            if n in self.nodes and _local(self.nodes[n]) == "userTask":
                out.append(n)
                break
        return out


def model_from_sources(sources: dict[str, str], process_id: str | None) -> ProcessModel:
    documents = []
    for name, text in sources.items():
        if name.endswith(".bpmn"):
            documents.append((name, etree.fromstring(text.encode("utf-8"))))
    return build_model(documents, process_id)
