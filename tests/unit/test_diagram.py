"""The server-side SVG diagram: every element type our BPMN uses, with position and path marked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from lxml import etree

from calendars import TZ
from engine.audit.diagram import parse_diagram, render_svg
from engine.clock import SimulatedClock
from engine.deployment import load_deployment
from engine.runtime import Actor, Application

SVG_NS = {"s": "http://www.w3.org/2000/svg"}
DECLARATION = yaml.safe_load(
    (Path(__file__).parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def bpmn_text():
    return load_deployment().sources["declaration.bpmn"]


def test_every_element_type_is_drawn(bpmn_text):
    shapes, edges = parse_diagram(bpmn_text)
    kinds = {s.kind for s in shapes}
    assert kinds >= {
        "participant",
        "lane",
        "startEvent",
        "endEvent",
        "userTask",
        "scriptTask",
        "exclusiveGateway",
        "intermediateCatchEvent",
        "boundaryEvent",
    }
    svg = etree.fromstring(render_svg(bpmn_text).encode())
    drawn = {g.get("data-element-id") for g in svg.iterfind(".//s:g", SVG_NS)}
    assert {s.id for s in shapes} <= drawn
    assert {e.id for e in edges} <= drawn
    # timers carry a clock face; gateways a marker; user tasks their icon
    notice = svg.find(".//s:g[@data-element-id='public_notice']", SVG_NS)
    assert len(notice.findall("s:circle", SVG_NS)) == 3
    assert svg.find(".//s:g[@data-element-id='gw_unit_review']/s:polygon", SVG_NS) is not None
    assert "单位审核" in etree.tostring(svg, encoding="unicode")


def test_current_position_and_path_travelled_are_marked(bpmn_text):
    clock = SimulatedClock(datetime(2020, 11, 17, 9, tzinfo=TZ))
    app = Application.start(
        load_deployment(),
        clock,
        applicant_id=1,
        chain={"unit": 10, "tier2": 20, "tier3": 30, "committee": 40},
    )
    app.complete("applicant_submit", Actor(1), dict(DECLARATION))
    current, done = app.positions()
    assert current == {"unit_review"}
    assert {"start", "applicant_submit"} <= done
    svg = etree.fromstring(render_svg(bpmn_text, current=current, done=done).encode())
    assert "current" in svg.find(".//s:g[@data-element-id='unit_review']", SVG_NS).get("class")
    assert "done" in svg.find(".//s:g[@data-element-id='applicant_submit']", SVG_NS).get("class")
    travelled = svg.find(".//s:g[@data-element-id='flow_applicant_submit_to_unit_review']", SVG_NS)
    assert "done" in travelled.get("class")
    untouched = svg.find(".//s:g[@data-element-id='flow_unit_review_to_gw_unit_review']", SVG_NS)
    assert "done" not in untouched.get("class")


def test_public_notice_timer_is_the_current_position_during_the_notice(bpmn_text):
    clock = SimulatedClock(datetime(2020, 11, 17, 9, tzinfo=TZ))
    app = Application.start(
        load_deployment(),
        clock,
        applicant_id=1,
        chain={"unit": 10, "tier2": 20, "tier3": 30, "committee": 40},
    )
    app.complete("applicant_submit", Actor(1), dict(DECLARATION))
    app.complete(
        "unit_review",
        Actor(2, frozenset({(10, "admin")})),
        {"decision": "approve", "opinion": "材料真实完备，同意推荐。"},
    )
    assert app.positions()[0] == {"public_notice"}
