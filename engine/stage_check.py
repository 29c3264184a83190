"""What every stage needs before anyone can run it, checked statically (issue 10 item 3).

For each user task: a form, a window in each campaign it is deployed with, an interrupting deadline timer
and, behind it, a lapse end event. For each expression: every name exists (the helpers of
engine.scripting, the variables the engine sets, form fields, names the diagram's scripts assign) and every
stage named in `stage_deadline("…")` / `stage_opens("…")` is a task. For each review decision a form allows:
an outgoing flow of the gateway after the task whose condition names it (a default flow must not stand in
for a decision). `zhicheng bpmn check` and `zhicheng deploy` (and the operator's deploy page) run these.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from lxml import etree

from .campaign import check_windows
from .scripting import SAFE_BUILTINS, make_globals
from .stages import NS, ProcessModel, build_model, find_process
from .variables import COMPLETED_AT_SUFFIX, ENGINE_VARIABLES

STAGE_HELPERS = ("stage_deadline", "stage_opens")  # helpers whose first argument is a stage id


@dataclass(frozen=True)
class StageProblem:
    file: str
    line: int
    element_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.element_id or '-'}: {self.message}"


def helper_names() -> set[str]:
    """Names a BPMN expression may call: the allow-listed helpers and builtins (engine.scripting)."""
    return (set(make_globals(None, None)) - {"__builtins__"}) | set(SAFE_BUILTINS)


def options(prop: dict) -> list:
    """The values a form field allows: its `enum`, or the `const` of each `oneOf`/`anyOf` option."""
    if "enum" in prop:
        return list(prop["enum"])
    out = []
    for key in ("oneOf", "anyOf"):
        out += [o["const"] for o in prop.get(key, []) if isinstance(o, dict) and "const" in o]
    return out


def check_stages(documents, forms: dict[str, dict], campaigns=(), process_id: str | None = None):
    """Every problem of the stages of `process_id` (default: each process) in `documents`.

    `documents`: (file name, lxml tree or root) pairs; `forms`: schema file name -> JSON Schema;
    `campaigns`: loaded Campaign objects the BPMN will be deployed with.
    """
    out: list[StageProblem] = []
    roots = [(str(f), t.getroot() if hasattr(t, "getroot") else t) for f, t in documents]
    ids = (
        [process_id]
        if process_id
        else [p.get("id") for _, r in roots for p in r.iterfind("bpmn:process", NS)]
    )
    for pid in ids:
        file, proc = find_process(roots, pid)
        if proc is None:
            continue
        model = build_model(roots, pid)
        if model.problems:
            continue  # bpmn check reports the model's own problems; these checks need a readable model
        out += _timers(file, proc, model)
        out += _windows(file, model, campaigns)
        out += _names(file, proc, model, forms)
        out += _decisions(file, proc, model, forms)
    return out


def _timers(file, proc, model: ProcessModel) -> list[StageProblem]:
    out = []
    for s in model.stages.values():
        if s.deadline_timer is None:
            out.append(
                StageProblem(
                    file,
                    s.line,
                    s.id,
                    f"「{s.label}」没有截止定时器：在任务边框上加一个中断型定时边界事件，时间表达式写 "
                    f'stage_deadline("{s.id}", return_stage)，并连到一个“逾期失效”结束事件',
                )
            )
        elif s.lapse_end is None:
            out.append(
                StageProblem(
                    file,
                    s.line,
                    s.id,
                    f"「{s.label}」的截止定时器 {s.deadline_timer} 没有连到结束事件：从它画一条顺序流到"
                    f"一个“逾期失效”结束事件",
                )
            )
    return out


def _windows(file, model: ProcessModel, campaigns) -> list[StageProblem]:
    out = []
    for campaign in campaigns:
        for p in check_windows(campaign, model):
            stage = p.key.split(".")[1] if p.key.startswith("stages.") else ""
            if stage in model.stages and stage not in campaign.stages:
                s = model.stages[stage]
                out.append(StageProblem(file, s.line, stage, f"活动文件 {campaign.source_path} 中{p.reason}"))
            else:
                out.append(StageProblem(p.file, p.line or 0, p.key, p.reason))
    return out


def _expressions(proc):
    """(element, text, mode) of every condition, timer expression and script in the process."""
    for el in proc.iterfind(".//bpmn:conditionExpression", NS):
        yield el, "eval"
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        for el in proc.iterfind(f".//bpmn:{tag}", NS):
            yield el, "eval"
    for el in proc.iterfind(".//bpmn:script", NS):
        yield el, "exec"
    for tag in ("preScript", "postScript"):
        for el in proc.iterfind(f".//spiffworkflow:{tag}", NS):
            yield el, "exec"


def _owner(el, proc):
    """The flow node or sequence flow (a child of the process) that holds `el`."""
    while el is not None and el.getparent() is not proc:
        el = el.getparent()
    return el


def _names(file, proc, model: ProcessModel, forms) -> list[StageProblem]:
    parsed = []
    for el, mode in _expressions(proc):
        try:
            parsed.append((el, ast.parse((el.text or "").strip(), mode=mode)))
        except SyntaxError:
            continue  # bpmn check reports syntax errors on its own
    assigned = {
        n.id
        for _, tree in parsed
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    fields = {
        name
        for s in model.stages.values()
        if s.form and isinstance(forms.get(s.form), dict)
        for name in (forms[s.form].get("properties") or {})
    }
    engine = set(ENGINE_VARIABLES) | {f"has_{t}" for t in model.optional_tiers}
    engine |= {f"{s}{COMPLETED_AT_SUFFIX}" for s in model.stages}
    helpers = helper_names()
    known = helpers | engine | fields | assigned
    out = []
    for el, tree in parsed:
        owner = _owner(el, proc)
        where = (owner.get("id") if owner is not None else "") or ""
        line = el.sourceline or 0
        for name in sorted(
            {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - known
        ):
            out.append(
                StageProblem(
                    file,
                    line,
                    where,
                    f"表达式中的名称 {name!r} 不存在：可用的是助手函数（{'、'.join(sorted(helpers - set(SAFE_BUILTINS)))}）、"
                    f"引擎设置的变量（{'、'.join(sorted(set(ENGINE_VARIABLES)))}、<环节id>_completed_at）"
                    f"和表单字段；检查拼写",
                )
            )
        for call in ast.walk(tree):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id in STAGE_HELPERS
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and call.args[0].value not in model.stages
            ):
                out.append(
                    StageProblem(
                        file,
                        line,
                        where,
                        f"{call.func.id}({call.args[0].value!r}) 中的环节不存在：应为用户任务 id 之一"
                        f"（{'、'.join(model.stages)}）",
                    )
                )
    return out


def _compared(condition: str, field: str) -> set:
    """String values `condition` compares `field` with (== or in)."""
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if not any(isinstance(o, ast.Name) and o.id == field for o in operands):
            continue
        for o in operands:
            if isinstance(o, ast.Constant):
                out.add(o.value)
            elif isinstance(o, ast.Tuple | ast.List | ast.Set):
                out |= {e.value for e in o.elts if isinstance(e, ast.Constant)}
    return out


def _decisions(file, proc, model: ProcessModel, forms) -> list[StageProblem]:
    nodes = {el.get("id"): el for el in proc if isinstance(el.tag, str) and el.get("id")}
    flows = list(proc.iterfind("bpmn:sequenceFlow", NS))
    out = []
    for s in model.stages.values():
        schema = forms.get(s.form) if s.form else None
        prop = ((schema or {}).get("properties") or {}).get("decision")
        allowed = options(prop) if isinstance(prop, dict) else []
        if len(allowed) < 2:
            continue  # one possible decision needs no gateway
        after = [f.get("targetRef") for f in flows if f.get("sourceRef") == s.id]
        gateways = [n for n in after if n in nodes and etree.QName(nodes[n]).localname == "exclusiveGateway"]
        if not gateways:
            out.append(
                StageProblem(
                    file,
                    s.line,
                    s.id,
                    f"「{s.label}」的表单允许 {len(allowed)} 种决定（{'、'.join(map(str, allowed))}），"
                    f"但任务后面没有排他网关按 decision 分流：加一个排他网关，每种决定一条带条件的顺序流",
                )
            )
            continue
        for gw in gateways:
            covered = set()
            for f in flows:
                cond = f.find("bpmn:conditionExpression", NS)
                if f.get("sourceRef") == gw and cond is not None:
                    covered |= _compared(cond.text or "", "decision")
            for value in allowed:
                if value not in covered:
                    out.append(
                        StageProblem(
                            file,
                            nodes[gw].sourceline or 0,
                            gw,
                            f"「{s.label}」的表单允许决定 {value!r}，但网关 {gw} 没有以它为条件的出口："
                            f'给对应的顺序流加条件 decision == "{value}"（默认流不能代替审核决定）',
                        )
                    )
    return out


def check_deployment(deployment) -> list[StageProblem]:
    """The same checks over a built deployment's pinned sources (what `deploy` stores)."""
    documents = [
        (name, etree.fromstring(text.encode("utf-8")))
        for name, text in deployment.sources.items()
        if name.endswith(".bpmn")
    ]
    return check_stages(documents, deployment.forms, [deployment.campaign], deployment.process_id)


def require_stages(deployment) -> None:
    """Raise ConfigError listing every stage problem of `deployment` (deploy refuses it)."""
    from .errors import ConfigError

    problems = check_deployment(deployment)
    if problems:
        first = problems[0]
        raise ConfigError(
            "流程图不能部署：\n" + "\n".join(str(p) for p in problems),
            file=first.file,
            line=first.line or None,
        )
