"""`zhicheng bpmn check`: everything that can be known about a BPMN folder before it is deployed.

Checks, per file: well-formed XML; the BPMN 2.0 XSD composed with the spiffworkflow extension XSD
(both loaded from the installed SpiffWorkflow, through its own `BpmnValidator`); diagram interchange
(a shape for every flow node, lane and participant, an edge with two or more waypoints for every
sequence flow); SpiffWorkflow's `SpiffBpmnParser`; every Python expression and script compiles; every
user task names a valid JSON-Schema form in `forms/`; the stage model (engine.stages) can be read: every
task in a lane with a `tier`, known roles and statuses. All problems are collected, none raised; more
checks may append to the list (`check_bpmn_with_summary` composes them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from engine import paths
from engine.forms import check_form_schema

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "di": DI_NS, "spiffworkflow": SPIFF_NS}


# Elements that are drawn as shapes (flow nodes); sequence flows are drawn as edges.
_FLOW_NODES = (
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located as precisely as known (line 0: the whole file or folder)."""

    file: str
    line: int
    element_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.element_id or '-'}: {self.message}"


@dataclass(frozen=True)
class CheckSummary:
    """What a clean check looked at."""

    files: int
    elements: int
    forms: int
    dry_run: str = ""

    def __str__(self) -> str:
        return (
            f"OK: {self.files} 个 BPMN 文件，{self.elements} 个流程元素，{self.forms} 个表单文件，未发现问题"
            + (f"\n{self.dry_run}" if self.dry_run else "")
        )


def bpmn_files(path: Path) -> list[Path]:
    """The `*.bpmn` files a check of PATH covers (PATH itself if it is a file)."""
    path = Path(path)
    return [path] if path.is_file() else sorted(path.glob("*.bpmn"))


def check_bpmn(path: Path | str | None = None, campaign: Path | str | None = None) -> list[Problem]:
    """Check a BPMN file or folder (default `engine.paths.bpmn_dir()`); return every problem found."""
    return check_bpmn_with_summary(path, campaign)[0]


def check_bpmn_with_summary(
    path: Path | str | None = None, campaign: Path | str | None = None
) -> tuple[list[Problem], CheckSummary]:
    """As `check_bpmn`, also returning counts for the OK message.

    When everything else is clean, the process is dry-run (engine.dry_run) with `campaign` (default: the
    folder's campaigns/cq-2020-senior.toml; no campaign, no dry run).
    """
    root = Path(path) if path is not None else paths.bpmn_dir()
    files = bpmn_files(root)
    if not files:
        return [Problem(str(root), 0, "", "找不到 .bpmn 文件")], CheckSummary(0, 0, 0)
    problems: list[Problem] = []
    documents: list[tuple[Path, etree._ElementTree]] = []
    for file in files:
        try:
            tree = etree.parse(str(file))
        except etree.XMLSyntaxError as exc:
            line = exc.lineno or (exc.position[0] if exc.position else 0)
            problems.append(Problem(str(file), line, "", f"XML 格式错误：{exc.msg}"))
            continue
        documents.append((file, tree))
        problems += _check_xsd(file, tree)
        problems += _check_di(file, tree)
        problems += _check_expressions(file, tree)
        problems += _check_user_tasks(file, tree)
    problems += _check_with_spiff(documents)
    if len(documents) < len(files):
        # a file that is not XML may well hold the missing stages: do not guess
        return problems, CheckSummary(len(documents), 0, 0)
    problems += _check_model(documents)
    problems += _check_stages(root, campaign, documents)
    forms = {
        p.get("value")
        for _, tree in documents
        for p in tree.iterfind(".//spiffworkflow:property", NS)
        if p.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename")
    }
    elements = sum(1 for _, tree in documents for el in tree.iter() if _local(el) in _FLOW_NODES)
    note = ""
    if not problems:
        dry, note = _dry_run(root, campaign, documents)
        problems += dry
    return problems, CheckSummary(len(documents), elements, len(forms), note)


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _owner_id(el) -> str:
    """The id of the element, or of its nearest ancestor that has one."""
    while el is not None:
        if el.get("id"):
            return el.get("id")
        el = el.getparent()
    return ""


def _node_id(el) -> str:
    """The id of the flow node or sequence flow that contains el (a timer names its event)."""
    node = el
    while node is not None:
        if _local(node) in _FLOW_NODES or _local(node) == "sequenceFlow":
            return node.get("id", "")
        node = node.getparent()
    return _owner_id(el)


_validator = None


def _xsd_validator():
    # Built lazily: composing the XSDs takes a noticeable fraction of a second.
    global _validator
    if _validator is None:
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
        from SpiffWorkflow.spiff.parser.process import SPIFF_XSD

        # Spiff's own VALIDATOR imports the extension XSD under the key 'spiffworkflow' rather than its
        # namespace URI, so extension elements go unchecked; import it under the real namespace.
        _validator = BpmnValidator(imports={SPIFF_NS: SPIFF_XSD}).validator
    return _validator


def _check_xsd(file: Path, tree) -> list[Problem]:
    validator = _xsd_validator()
    if validator.validate(tree):
        return []
    by_line = {}
    for el in tree.iter():
        by_line.setdefault(el.sourceline, el)
    return [
        Problem(str(file), err.line, _owner_id(by_line.get(err.line)), f"不符合 BPMN 2.0 XSD：{err.message}")
        for err in validator.error_log
    ]


def _check_di(file: Path, tree) -> list[Problem]:
    shapes = {s.get("bpmnElement") for s in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {
        e.get("bpmnElement"): len(e.findall("di:waypoint", NS))
        for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)
    }
    problems = []
    for el in tree.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
            continue
        name = _local(el)
        if name in _FLOW_NODES or name in ("lane", "participant"):
            if el.get("id") not in shapes:
                problems.append(
                    Problem(
                        str(file),
                        el.sourceline,
                        el.get("id", ""),
                        f'缺少图形（bpmndi:BPMNShape bpmnElement="{el.get("id")}"）',
                    )
                )
        elif name == "sequenceFlow":
            count = edges.get(el.get("id"))
            if count is None:
                problems.append(
                    Problem(
                        str(file),
                        el.sourceline,
                        el.get("id", ""),
                        f'缺少连线（bpmndi:BPMNEdge bpmnElement="{el.get("id")}"）',
                    )
                )
            elif count < 2:
                problems.append(
                    Problem(
                        str(file),
                        el.sourceline,
                        el.get("id", ""),
                        f"连线只有 {count} 个 di:waypoint，至少需要 2 个",
                    )
                )
    return problems


def _check_expressions(file: Path, tree) -> list[Problem]:
    # Conditions and timer expressions are evaluated; scripts are executed.
    snippets = []
    for el in tree.iterfind(".//bpmn:conditionExpression", NS):
        snippets.append((el, "条件表达式", "eval"))
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        snippets += [(el, f"定时器表达式（{tag}）", "eval") for el in tree.iterfind(f".//bpmn:{tag}", NS)]
    snippets += [(el, "脚本", "exec") for el in tree.iterfind(".//bpmn:script", NS)]
    for tag in ("preScript", "postScript"):
        snippets += [(el, tag, "exec") for el in tree.iterfind(f".//spiffworkflow:{tag}", NS)]
    problems = []
    for el, what, mode in snippets:
        text = (el.text or "").strip()
        if not text:
            problems.append(Problem(str(file), el.sourceline, _node_id(el), f"{what}为空"))
            continue
        try:
            compile(text, f"{file.name}:{_node_id(el)}", mode)
        except SyntaxError as exc:
            line = el.sourceline + (exc.lineno or 1) - 1
            problems.append(
                Problem(
                    str(file),
                    line,
                    _node_id(el),
                    f"{what}语法错误：{exc.msg}（{text.splitlines()[(exc.lineno or 1) - 1].strip()}）",
                )
            )
    return problems


def _check_user_tasks(file: Path, tree) -> list[Problem]:
    forms_dir = file.parent / "forms"
    problems = []
    for task in tree.iterfind(".//bpmn:userTask", NS):
        tid, line = task.get("id", ""), task.sourceline

        def report(message, tid=tid, line=line):
            problems.append(Problem(str(file), line, tid, message))

        props = {
            p.get("name"): p
            for p in task.iterfind(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
            )
        }
        if "formJsonSchemaFilename" not in props:
            report("用户任务缺少表单（spiffworkflow:property formJsonSchemaFilename）")
        for key, is_schema in (("formJsonSchemaFilename", True), ("formUiSchemaFilename", False)):
            if key in props:
                for message in _check_form_file(forms_dir, props[key].get("value") or "", is_schema):
                    report(message, line=props[key].sourceline)
    return problems


def _check_stages(root: Path, campaign, documents) -> list[Problem]:
    """Each stage's form, window (per campaign file), deadline timer and lapse end; names in expressions;
    decisions covered by gateway conditions (engine.stage_check)."""
    from .campaign import load_campaign
    from .errors import CampaignError
    from .stage_check import check_stages

    folder = root if root.is_dir() else root.parent
    forms = {}
    for path in sorted((folder / "forms").glob("*.json")):
        try:
            forms[path.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # reported with the task that names it
    if campaign and not Path(campaign).is_absolute() and not Path(campaign).exists():
        campaign = folder / campaign  # relative to the BPMN folder, as read_sources takes it
    files = [Path(campaign)] if campaign else sorted((folder / "campaigns").glob("*.toml"))
    campaigns, out = [], []
    for file in files:
        try:
            campaigns.append(load_campaign(file))
        except CampaignError as exc:
            out += [Problem(p.file, p.line or 0, p.key, p.reason) for p in exc.problems]
    out += [
        Problem(p.file, p.line, p.element_id, p.message) for p in check_stages(documents, forms, campaigns)
    ]
    return out


def _check_model(documents) -> list[Problem]:
    """What the engine reads from each process: lanes with tiers, roles, statuses (engine.stages)."""
    from .stages import build_model

    out = []
    for _, tree in documents:
        for proc in tree.getroot().iterfind("bpmn:process", NS):
            model = build_model(documents, proc.get("id"))
            out += [Problem(p.file, p.line, p.element_id, p.message) for p in model.problems]
    return out


def _check_form_file(forms_dir: Path, name: str, is_schema: bool) -> list[str]:
    target = forms_dir / name
    if not name or not target.is_file():
        return [f"表单文件不存在：forms/{name}"]
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"表单文件 forms/{name} 不是合法的 JSON：{exc}"]
    if not is_schema:
        return [] if isinstance(data, dict) else [f"界面定义 forms/{name} 应为 JSON 对象"]
    return [f"表单 forms/{name} 不是合法的 JSON Schema：{p}" for p in check_form_schema(data)]


def _check_with_spiff(documents) -> list[Problem]:
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    from .spiff import ZhichengParser

    parser = ZhichengParser()  # the engine's own parser (clocked timers); the XSD was checked above
    lines = {}
    for file, tree in documents:
        for el in tree.iter():
            if isinstance(el.tag, str) and el.get("id"):
                lines.setdefault((str(file), el.get("id")), el.sourceline)
    problems = []
    first = str(documents[0][0]) if documents else ""
    try:
        for file, tree in documents:
            parser.add_bpmn_xml(tree, str(file))
        for process_id in parser.get_process_ids():
            parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        file = exc.file_name or first
        line = exc.line_number or lines.get((file, exc.id), 0)
        problems.append(Problem(file, int(line or 0), exc.id or "", f"SpiffWorkflow 解析失败：{exc}"))
    except Exception as exc:  # noqa: BLE001 -- the parser trips on malformed input in arbitrary ways
        problems.append(Problem(first, 0, "", f"SpiffWorkflow 解析失败：{type(exc).__name__}: {exc}"))
    return problems


def _dry_run(root: Path, campaign, documents) -> tuple[list[Problem], str]:
    """Problems of the dry run, located at the task each names; and the run's one-line summary."""
    from .dry_run import dry_run_folder
    from .errors import ConfigError

    try:
        report, _, note = dry_run_folder(root, campaign)
    except ConfigError as exc:
        return [
            Problem(
                exc.context.get("file") or str(root),
                exc.context.get("line") or 0,
                "",
                f"无法试运行：{exc.reason}",
            )
        ], ""
    if report is None:
        return [], note
    lines = {
        el.get("id"): (str(file), el.sourceline)
        for file, tree in documents
        for el in tree.iter()
        if isinstance(el.tag, str) and el.get("id")
    }
    first = str(documents[0][0])
    return [Problem(*lines.get(p.stage, (first, 0)), p.stage, str(p)) for p in report.problems], note
