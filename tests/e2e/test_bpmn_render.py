"""Every bpmn/*.bpmn opens in bpmn.io: the bpmn-js viewer imports it without a warning and draws every element.

The viewer is the one the pages serve (webapp/static/vendor/bpmn-js, pinned in tools/bpmn-js), so the check
needs no npm and checks what users get. The rendered diagram is saved as test-artifacts/bpmn-<name>.png and .svg.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from webapp.diagram import VENDOR, bpmnjs_assets

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
STATIC = VENDOR.parents[1]  # bpmnjs_assets() paths are relative to webapp/static
DIAGRAMS = sorted((REPO / "bpmn").glob("*.bpmn"))
ARTIFACTS = REPO / "test-artifacts"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Everything a process draws as a shape or an edge; laneSet, documentation, extensions etc. are not.
NOT_DRAWN = {
    "laneSet",
    "childLaneSet",
    "flowNodeRef",
    "documentation",
    "extensionElements",
    "ioSpecification",
    "property",
    "dataInputAssociation",
    "dataOutputAssociation",
}

IMPORT_JS = """async (xml) => {
  const viewer = new BpmnJS({ container: '#canvas' });
  window.viewer = viewer;
  try {
    const { warnings } = await viewer.importXML(xml);
    return { error: null, warnings: warnings.map(w => w.message) };
  } catch (err) {
    return { error: String(err.message || err), warnings: (err.warnings || []).map(w => w.message) };
  }
}"""

MISSING_JS = """(ids) => {
  const registry = window.viewer.get('elementRegistry');
  return ids.filter(id => !registry.get(id) || !registry.getGraphics(id));
}"""

MARGIN = 20
# The diagram's extent, so the page can be sized to it and the screenshot taken at 100% zoom.
BBOX_JS = """() => {
  const box = window.viewer.get('canvas').getActiveLayer().getBBox();
  return { x: box.x, y: box.y, width: Math.ceil(box.width), height: Math.ceil(box.height) };
}"""
SHOW_JS = """([box, margin]) => {
  const canvas = window.viewer.get('canvas');
  canvas.resized();
  canvas.viewbox({ x: box.x - margin, y: box.y - margin,
                   width: box.width + 2 * margin, height: box.height + 2 * margin });
}"""


def drawn_ids(path: Path) -> list[str]:
    """Ids of every flow node, sequence flow, lane and participant in the file: each must be drawn."""
    tree = etree.parse(str(path))
    ids = []
    for parent in tree.iter(
        f"{{{BPMN_NS}}}process",
        f"{{{BPMN_NS}}}subProcess",
        f"{{{BPMN_NS}}}collaboration",
        f"{{{BPMN_NS}}}laneSet",
        f"{{{BPMN_NS}}}childLaneSet",
    ):
        for child in parent:
            if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
                continue
            if etree.QName(child).localname in NOT_DRAWN or child.get("id") is None:
                continue
            ids.append(child.get("id"))
    return ids


def test_there_are_diagrams_to_check():
    assert DIAGRAMS, "no bpmn/*.bpmn found"


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=[d.stem for d in DIAGRAMS])
def test_diagram_opens_in_bpmn_js(page, diagram):
    assets = bpmnjs_assets()
    page.set_content(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head>'
        '<body style="margin:0"><div id="canvas" style="width:100vw;height:100vh"></div></body></html>'
    )
    page.add_style_tag(path=STATIC / assets["diagram_css"])
    page.add_style_tag(path=STATIC / assets["bpmn_css"])
    page.add_script_tag(path=STATIC / assets["js"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    result = page.evaluate(IMPORT_JS, diagram.read_text(encoding="utf-8"))
    assert result["error"] is None, f"bpmn-js could not import {diagram.name}: {result}"
    assert result["warnings"] == [], f"bpmn-js import warnings for {diagram.name}"

    ids = drawn_ids(diagram)
    assert len(ids) > 0
    missing = page.evaluate(MISSING_JS, ids)
    assert missing == [], f"{diagram.name}: elements with no shape or edge in the diagram (missing DI?)"
    assert errors == []

    box = page.evaluate(BBOX_JS)
    page.set_viewport_size({"width": box["width"] + 2 * MARGIN, "height": box["height"] + 2 * MARGIN})
    page.evaluate(SHOW_JS, [box, MARGIN])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"bpmn-{diagram.stem}.png")
    svg = page.evaluate("async () => (await window.viewer.saveSVG()).svg")
    (ARTIFACTS / f"bpmn-{diagram.stem}.svg").write_text(svg, encoding="utf-8")
