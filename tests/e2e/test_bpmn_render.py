"""Every bpmn/*.bpmn opens in bpmn.io: the bpmn-js viewer imports it without a warning and draws every element.

bpmn-js is pinned in tests/e2e/bpmnjs/package.json; `npm ci` installs it there when node_modules is missing
(`make test` does it before pytest). The rendered diagram is saved as test-artifacts/bpmn-<name>.png and .svg.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BPMNJS = Path(__file__).resolve().parent / "bpmnjs"
DIST = BPMNJS / "node_modules" / "bpmn-js" / "dist"
VIEWER = DIST / "bpmn-viewer.development.js"
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


def _ensure_bpmnjs() -> None:
    """`npm ci` in tests/e2e/bpmnjs once (a lock keeps xdist workers from racing); skip if npm is missing."""
    if VIEWER.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(
            f"bpmn-js check skipped: npm not found, and {VIEWER.relative_to(REPO)} is missing "
            f"(install Node.js and npm, or run `npm ci` in {BPMNJS.relative_to(REPO)})"
        )
    with open(BPMNJS / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if VIEWER.is_file():
            return
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BPMNJS,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if done.returncode != 0 or not VIEWER.is_file():
        pytest.skip(
            f"bpmn-js check skipped: `npm ci` in {BPMNJS.relative_to(REPO)} failed "
            f"(is the npm registry reachable?): {done.stderr.strip()[-500:]}"
        )


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
    _ensure_bpmnjs()
    page.set_content(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head>'
        '<body style="margin:0"><div id="canvas" style="width:100vw;height:100vh"></div></body></html>'
    )
    page.add_style_tag(path=DIST / "assets" / "diagram-js.css")
    page.add_style_tag(path=DIST / "assets" / "bpmn-js.css")
    page.add_script_tag(path=VIEWER)
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
