"""Render a BPMN file's DI as SVG on the server (lxml only), marking where an application is and has been.

The browser draws the same BPMN with bpmn-js (webapp/static/diagram.js) and marks it from `path_of`; this
SVG is what shows without JavaScript, in prints and in audit bundles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
SVG = "http://www.w3.org/2000/svg"
TASKS = {
    "task",
    "userTask",
    "scriptTask",
    "serviceTask",
    "manualTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}


@dataclass(frozen=True)
class TravelledPath:
    """Where an application is (`current`), which elements it passed (`done`) and the flows it took."""

    current: frozenset[str] = frozenset()
    done: frozenset[str] = frozenset()
    flows: frozenset[str] = frozenset()

    def as_json(self) -> dict[str, list[str]]:
        return {"current": sorted(self.current), "done": sorted(self.done), "flows": sorted(self.flows)}


def bpmn_source(deployment) -> str:
    """The BPMN XML of a deployment (the one file its process is drawn from)."""
    return next(text for name, text in deployment.sources.items() if name.endswith(".bpmn"))


def path_of(app) -> TravelledPath:
    """The application's position and path, read from its workflow (which replaying its history rebuilds)."""
    from engine.coverage import taken_flows

    current, done = app.positions()
    flows = taken_flows(bpmn_source(app.deployment), app.workflow) if app.workflow is not None else set()
    return TravelledPath(frozenset(current), frozenset(done), frozenset(flows))


@dataclass(frozen=True)
class Shape:
    id: str
    kind: str
    name: str
    x: float
    y: float
    w: float
    h: float
    timer: bool = False


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    name: str
    points: tuple


@lru_cache(maxsize=16)
def parse_diagram(bpmn_text: str) -> tuple[tuple[Shape, ...], tuple[Edge, ...]]:
    """Shapes and edges of the first diagram, with the element kinds they stand for."""
    root = etree.fromstring(bpmn_text.encode("utf-8"))
    elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    shapes, edges = [], []
    for di in root.iterfind(".//bpmndi:BPMNShape", NS):
        el = elements.get(di.get("bpmnElement"))
        bounds = di.find("dc:Bounds", NS)
        if el is None or bounds is None:
            continue
        kind = etree.QName(el).localname
        timer = el.find("bpmn:timerEventDefinition", NS) is not None
        shapes.append(
            Shape(
                el.get("id"),
                kind,
                el.get("name") or "",
                *(float(bounds.get(k)) for k in ("x", "y", "width", "height")),
                timer,
            )
        )
    for di in root.iterfind(".//bpmndi:BPMNEdge", NS):
        el = elements.get(di.get("bpmnElement"))
        if el is None:
            continue
        pts = tuple((float(p.get("x")), float(p.get("y"))) for p in di.iterfind("di:waypoint", NS))
        edges.append(Edge(el.get("id"), el.get("sourceRef"), el.get("targetRef"), el.get("name") or "", pts))
    return tuple(shapes), tuple(edges)


def render_svg(
    bpmn_text: str,
    *,
    current: set[str] = frozenset(),
    done: set[str] = frozenset(),
    title: str = "流程图",
    flows: set[str] | None = None,
    taken: set[str] | None = None,
) -> str:
    """SVG of the diagram; `current` ids are highlighted, `done` ids and the flows in `taken` marked.

    Without `taken`, a flow between two reached nodes counts as travelled. With `flows` (scenario coverage),
    exactly those sequence flows are marked and every other one is drawn dashed red, so a flow between two
    reached nodes that was never taken still shows as a gap.
    """
    shapes, edges = parse_diagram(bpmn_text)
    if not shapes:
        return ""
    min_x = min(s.x for s in shapes) - 10
    min_y = min(s.y for s in shapes) - 10
    max_x = max(s.x + s.w for s in shapes) + 10
    max_y = max(s.y + s.h for s in shapes) + 30
    svg = etree.Element(
        f"{{{SVG}}}svg",
        nsmap={None: SVG},
        attrib={
            "viewBox": f"{min_x:.0f} {min_y:.0f} {max_x - min_x:.0f} {max_y - min_y:.0f}",
            "class": "bpmn-diagram",
            "role": "img",
            "font-family": "sans-serif",
        },
    )
    etree.SubElement(svg, "title").text = title
    defs = etree.SubElement(svg, "defs")
    for mid, color in (("arrow", "#555"), ("arrow-done", "#2e7d32")):
        marker = etree.SubElement(
            defs,
            "marker",
            id=mid,
            viewBox="0 0 10 10",
            refX="10",
            refY="5",
            markerWidth="7",
            markerHeight="7",
            orient="auto-start-reverse",
        )
        etree.SubElement(marker, "path", d="M0,0 L10,5 L0,10 z", fill=color)
    by_id = {s.id: s for s in shapes}
    for shape in shapes:  # pools and lanes first, underneath everything
        if shape.kind in ("participant", "lane"):
            _container(svg, shape)
    for edge in edges:
        if flows is not None:
            _edge(svg, edge, edge.id in flows, missed=edge.id not in flows)
            continue
        if taken is not None:
            travelled = edge.id in taken
        else:
            travelled = edge.source in done and (edge.target in done or edge.target in current)
        _edge(svg, edge, travelled)
    for shape in shapes:
        if shape.kind in ("participant", "lane"):
            continue
        state = "current" if shape.id in current else "done" if shape.id in done else ""
        _node(svg, shape, state, by_id)
    return etree.tostring(svg, encoding="unicode")


def _container(svg, s: Shape):
    g = etree.SubElement(svg, "g", attrib={"class": f"bpmn-{s.kind}", "data-element-id": s.id})
    etree.SubElement(
        g,
        "rect",
        x=_n(s.x),
        y=_n(s.y),
        width=_n(s.w),
        height=_n(s.h),
        fill="none",
        stroke="#999",
        attrib={"stroke-width": "1"},
    )
    label_x, label_y = s.x + 15, s.y + s.h / 2
    etree.SubElement(
        g, "line", x1=_n(s.x + 30), y1=_n(s.y), x2=_n(s.x + 30), y2=_n(s.y + s.h), stroke="#999"
    ) if s.kind == "participant" else None
    text = etree.SubElement(
        g,
        "text",
        x=_n(label_x),
        y=_n(label_y),
        transform=f"rotate(-90 {_n(label_x)} {_n(label_y)})",
        attrib={"text-anchor": "middle", "font-size": "13", "fill": "#333"},
    )
    text.text = s.name


def _edge(svg, e: Edge, travelled: bool, missed: bool = False):
    if len(e.points) < 2:
        return
    color = "#2e7d32" if travelled else "#c62828" if missed else "#555"
    state = " done" if travelled else " missed" if missed else ""
    g = etree.SubElement(svg, "g", attrib={"class": "bpmn-flow" + state, "data-element-id": e.id})
    etree.SubElement(
        g,
        "polyline",
        points=" ".join(f"{x:.0f},{y:.0f}" for x, y in e.points),
        fill="none",
        stroke=color,
        attrib={
            "stroke-width": "2.5" if travelled else "1.2",
            "marker-end": "url(#arrow-done)" if travelled else "url(#arrow)",
            **({"stroke-dasharray": "6 4"} if missed else {}),
        },
    )
    if e.name:
        (x1, y1), (x2, y2) = e.points[0], e.points[1]
        t = etree.SubElement(
            g,
            "text",
            x=_n((x1 + x2) / 2 + 4),
            y=_n((y1 + y2) / 2 - 4),
            attrib={"font-size": "10", "fill": "#666"},
        )
        t.text = e.name


STATE_STYLE = {
    "current": ("#fff3e0", "#e65100", "3"),
    "done": ("#e8f5e9", "#2e7d32", "2"),
    "": ("#fff", "#333", "1.2"),
}


def _node(svg, s: Shape, state: str, by_id):
    fill, stroke, width = STATE_STYLE[state]
    g = etree.SubElement(
        svg, "g", attrib={"class": f"bpmn-{s.kind}" + (f" {state}" if state else ""), "data-element-id": s.id}
    )
    cx, cy = s.x + s.w / 2, s.y + s.h / 2
    if s.kind in TASKS:
        etree.SubElement(
            g,
            "rect",
            x=_n(s.x),
            y=_n(s.y),
            width=_n(s.w),
            height=_n(s.h),
            rx="10",
            fill=fill,
            stroke=stroke,
            attrib={"stroke-width": width},
        )
        if s.kind == "userTask":
            etree.SubElement(g, "circle", cx=_n(s.x + 12), cy=_n(s.y + 12), r="5", fill="none", stroke=stroke)
        if s.kind == "scriptTask":
            etree.SubElement(
                g,
                "path",
                d=f"M{_n(s.x + 8)},{_n(s.y + 6)} h10 M{_n(s.x + 8)},{_n(s.y + 11)} h10 "
                f"M{_n(s.x + 8)},{_n(s.y + 16)} h10",
                stroke=stroke,
            )
        _wrapped(g, s.name, cx, cy, max_chars=max(4, int(s.w // 13)))
    elif s.kind in EVENTS:
        r = s.w / 2
        stroke_w = "4" if s.kind == "endEvent" else width
        etree.SubElement(
            g,
            "circle",
            cx=_n(cx),
            cy=_n(cy),
            r=_n(r),
            fill=fill,
            stroke=stroke,
            attrib={"stroke-width": stroke_w},
        )
        if s.kind in ("intermediateCatchEvent", "boundaryEvent", "intermediateThrowEvent"):
            etree.SubElement(g, "circle", cx=_n(cx), cy=_n(cy), r=_n(r - 3), fill="none", stroke=stroke)
        if s.timer:  # a clock face
            etree.SubElement(g, "circle", cx=_n(cx), cy=_n(cy), r=_n(r - 8), fill="#fff", stroke=stroke)
            etree.SubElement(
                g,
                "path",
                d=f"M{_n(cx)},{_n(cy - r + 10)} L{_n(cx)},{_n(cy)} L{_n(cx + 5)},{_n(cy + 2)}",
                stroke=stroke,
                fill="none",
            )
        _label_below(g, s)
    elif s.kind in GATEWAYS:
        pts = f"{_n(cx)},{_n(s.y)} {_n(s.x + s.w)},{_n(cy)} {_n(cx)},{_n(s.y + s.h)} {_n(s.x)},{_n(cy)}"
        etree.SubElement(g, "polygon", points=pts, fill=fill, stroke=stroke, attrib={"stroke-width": width})
        if s.kind == "exclusiveGateway":
            d = 8
            etree.SubElement(
                g,
                "path",
                d=f"M{_n(cx - d)},{_n(cy - d)} L{_n(cx + d)},{_n(cy + d)} "
                f"M{_n(cx + d)},{_n(cy - d)} L{_n(cx - d)},{_n(cy + d)}",
                stroke=stroke,
                attrib={"stroke-width": "2.5"},
            )
        elif s.kind == "parallelGateway":
            etree.SubElement(
                g,
                "path",
                d=f"M{_n(cx - 10)},{_n(cy)} h20 M{_n(cx)},{_n(cy - 10)} v20",
                stroke=stroke,
                attrib={"stroke-width": "2.5"},
            )
        _label_below(g, s)
    else:
        etree.SubElement(
            g,
            "rect",
            x=_n(s.x),
            y=_n(s.y),
            width=_n(s.w),
            height=_n(s.h),
            fill="none",
            stroke="#bbb",
            attrib={"stroke-dasharray": "4 2"},
        )
    title = etree.SubElement(g, "title")
    # the name people know it by; a BPMN id is never shown (an unnamed element gets its state only)
    title.text = (s.name or "") + {"current": " · 当前位置", "done": " · 已经过"}.get(state, "")


def _wrapped(g, text: str, cx: float, cy: float, max_chars: int):
    lines = [text[i : i + max_chars] for i in range(0, len(text), max_chars)] or [""]
    top = cy - (len(lines) - 1) * 7
    for i, line in enumerate(lines):
        t = etree.SubElement(
            g,
            "text",
            x=_n(cx),
            y=_n(top + i * 14 + 4),
            attrib={"text-anchor": "middle", "font-size": "12", "fill": "#222"},
        )
        t.text = line


def _label_below(g, s: Shape):
    if not s.name:
        return
    t = etree.SubElement(
        g,
        "text",
        x=_n(s.x + s.w / 2),
        y=_n(s.y + s.h + 13),
        attrib={"text-anchor": "middle", "font-size": "10", "fill": "#444"},
    )
    t.text = s.name


def _n(v: float) -> str:
    return f"{v:.0f}"
