"""The server-side SVG diagram: every element type our BPMN uses, with position and path marked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from lxml import etree

from calendars import TZ
from engine.audit.diagram import parse_diagram, path_of, render_svg
from engine.clock import SimulatedClock
from engine.deployment import load_deployment
from engine.runtime import Actor, Application

SVG_NS = {"s": "http://www.w3.org/2000/svg"}
DECLARATION = yaml.safe_load(
    (Path(__file__).parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)


def _submitted(at: datetime) -> tuple[Application, SimulatedClock]:
    """An application of the 2020 process (unit 10, tier 2 20, …) submitted by its applicant at `at`."""
    clock = SimulatedClock(at)
    app = Application.start(
        load_deployment(),
        clock,
        applicant_id=1,
        chain={"unit": 10, "tier2": 20, "tier3": 30, "committee": 40},
    )
    app.complete("applicant_submit", Actor(1), dict(DECLARATION))
    return app, clock


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
    app, _clock = _submitted(datetime(2020, 11, 17, 9, tzinfo=TZ))
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
    app, _clock = _submitted(datetime(2020, 11, 17, 9, tzinfo=TZ))
    app.complete(
        "unit_review",
        Actor(2, frozenset({(10, "admin")})),
        {"decision": "approve", "opinion": "材料真实完备，同意推荐。"},
    )
    assert app.positions()[0] == {"public_notice"}


def test_path_travelled_is_the_flows_taken_not_every_flow_between_reached_nodes(bpmn_text):
    """A tier-2 return reaches the shared return task: the unit's return flow was never taken and stays grey."""
    app, clock = _submitted(datetime(2020, 11, 18, 10, tzinfo=TZ))
    unit, dept = Actor(2, frozenset({(10, "admin")})), Actor(3, frozenset({(20, "reviewer")}))
    opinion = {"decision": "approve", "opinion": "材料真实完备，同意推荐上报。"}
    clock.set(datetime(2020, 11, 19, 10, tzinfo=TZ))
    app.complete("unit_review", unit, dict(opinion))
    clock.set(datetime(2020, 11, 27, 9, tzinfo=TZ))  # the public notice has run
    app.complete("unit_report", unit, dict(opinion))
    clock.set(datetime(2020, 11, 30, 10, tzinfo=TZ))
    app.complete(
        "tier2_review",
        dept,
        {"decision": "return", "opinion": "业绩佐证材料不完整，请补正。", "reason": "缺少获奖证书"},
    )

    path = path_of(app)
    assert path.current == {"applicant_correct"}
    assert {"unit_review", "gw_unit_review", "record_return", "tier2_review"} <= path.done
    assert {
        "flow_applicant_submit_to_unit_review",
        "flow_gw_unit_review_to_gw_notice",
        "flow_gw_tier2_to_record_return",
        "flow_record_return_to_applicant_correct",  # into the current task
    } <= path.flows
    assert "flow_gw_unit_review_to_record_return" not in path.flows  # both ends reached, never taken
    assert "flow_applicant_correct_to_gw_after_correct" not in path.flows
    assert path.as_json()["current"] == ["applicant_correct"]

    svg = etree.fromstring(
        render_svg(bpmn_text, current=path.current, done=path.done, taken=path.flows).encode()
    )
    flow = ".//s:g[@data-element-id='{}']".format
    assert "done" in svg.find(flow("flow_gw_tier2_to_record_return"), SVG_NS).get("class")
    assert "done" not in svg.find(flow("flow_gw_unit_review_to_record_return"), SVG_NS).get("class")


def test_svg_tooltips_name_elements_without_their_bpmn_ids(bpmn_text):
    svg = etree.fromstring(render_svg(bpmn_text, current={"unit_review"}).encode())
    titles = [t.text or "" for t in svg.iterfind(".//s:g/s:title", SVG_NS)]
    assert any(t.startswith("单位审核") and "当前位置" in t for t in titles)
    assert not any("unit_review" in t or "gw_" in t or "flow_" in t for t in titles)
