"""The process diagram in Chromium: the vendored bpmn-js viewer draws the application's process on the
applicant's, the reviewer's and the auditor's pages, marks the current task and the path taken, zooms with
the buttons (mouse or keyboard) and Ctrl+wheel, pans by dragging, and breaks no CSP rule; without
JavaScript the server's SVG shows instead."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from calendars import TZ
from engine.accounts.models import Org, User
from engine.demo import DEMO_PASSWORD, seed_demo
from engine.deployment import read_sources
from engine.store import queries, services

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
# Everything a CSP refusal or a script error leaves behind, collected from before the page's first script.
WATCH_CSP = """document.addEventListener('securitypolicyviolation', e => {
  (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI);
});"""
VIEWBOX = "() => document.querySelector('[data-bpmn-viewer]').bpmnViewer.get('canvas').viewbox()"


@pytest.fixture(scope="module")
def submitted(live_server):
    """The demo world; one application submitted by its applicant, now at its unit's review."""
    from webapp.extensions import db

    clock = live_server.clock
    clock.set(datetime(2020, 11, 18, 9, tzinfo=TZ))
    with live_server.app.app_context():
        with sessionmaker(db.engine, expire_on_commit=False)() as s:
            services.deploy(s, clock, read_sources())
            seed_demo(s, clock)
            s.commit()
            users = dict(s.execute(select(User.username, User.id)).all())
            applicant = next(name for name in users if name.startswith("500116"))
            unit = s.scalar(select(Org.id).where(Org.name == "重庆市江津区建设工程有限公司"))
            app_id = services.start_application(s, clock, users[applicant], unit)
            services.complete_task(
                s,
                clock,
                app_id,
                "applicant_submit",
                queries.actor_for(s, users[applicant]),
                dict(DECLARATION),
            )
            s.commit()
    return {"app": app_id, "applicant": applicant, "unit": unit}


def _login(page, live_server, username):
    page.goto(live_server("/auth/login"))
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash-success")).to_have_count(1)


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.add_init_script(WATCH_CSP)

    def console(message):
        # the browser's own favicon request is no page's doing (the app has no favicon)
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console {message.type}: {message.text} at {message.location}")

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


def _viewer_ready(page):
    figure = page.locator("figure[data-bpmn-viewer]")
    expect(figure).to_have_attribute("data-viewer", "ready")
    expect(figure.locator(".bpmn-canvas")).to_be_visible()
    expect(figure.locator(".bpmn-fallback")).to_be_hidden()
    return figure


def _element(figure, bpmn_id):
    return figure.locator(f'.djs-element[data-element-id="{bpmn_id}"]')


def test_applicant_reads_zooms_and_pans_the_diagram(page, live_server, submitted, artifact):
    problems = _watch(page)
    _login(page, live_server, submitted["applicant"])
    page.goto(live_server(f"/apply/{submitted['app']}"))
    figure = _viewer_ready(page)

    expect(_element(figure, "unit_review")).to_have_class(_has("zc-current"))
    expect(_element(figure, "applicant_submit")).to_have_class(_has("zc-done"))
    expect(_element(figure, "flow_applicant_submit_to_unit_review")).to_have_class(_has("zc-taken"))
    expect(_element(figure, "tier2_review")).not_to_have_class(_has("zc-current"))
    expect(_element(figure, "flow_unit_review_to_gw_unit_review")).not_to_have_class(_has("zc-taken"))
    expect(figure.locator(".bpmn-canvas")).to_contain_text("单位审核")  # labels are the Chinese names
    drawn = figure.locator(".bpmn-canvas").inner_text()
    assert not re.search(r"[A-Za-z]+_[A-Za-z_]+", drawn), drawn  # and no BPMN id is written on it
    expect(figure.locator(".bpmn-legend")).to_contain_text("当前所在环节")

    fitted = page.evaluate(VIEWBOX)
    # fit-viewport on load: the whole diagram is inside the view. diagram-js reports its scale rounded to 1/1000,
    # so the reported width may be off by width * 0.0005 / scale, plus a pixel; the page width moves with the menu.
    slack = fitted["width"] * 0.0005 / fitted["scale"] + 1 / fitted["scale"]
    assert fitted["inner"]["x"] >= fitted["x"] - slack
    assert fitted["inner"]["x"] + fitted["inner"]["width"] <= fitted["x"] + fitted["width"] + slack
    figure.get_by_role("button", name="放大流程图").click()
    zoomed = page.evaluate(VIEWBOX)
    assert zoomed["width"] < fitted["width"] * 0.9
    # keyboard: Tab reaches the zoom-out button, Enter presses it
    figure.get_by_role("button", name="放大流程图").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.zoom") == "out"
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    out = page.evaluate(VIEWBOX)
    assert out["width"] > zoomed["width"] * 1.2
    # Ctrl + wheel zooms about the pointer; dragging pans
    box = figure.locator(".bpmn-canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_function(f"w => ({VIEWBOX})().width < w", arg=out["width"])
    before = page.evaluate(VIEWBOX)
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 120, cy - 40, steps=8)
    page.mouse.up()
    after = page.evaluate(VIEWBOX)
    assert after["x"] > before["x"] + 10 and after["width"] == pytest.approx(before["width"])
    # keyboard panning: Tab from the toolbar into the drawing, then Ctrl+arrow keys move it
    figure.get_by_role("button", name="查看当前环节").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('.bpmn-canvas') !== null")
    before = page.evaluate(VIEWBOX)
    page.keyboard.press("Control+ArrowLeft")
    assert page.evaluate(VIEWBOX)["x"] != before["x"]
    figure.get_by_role("button", name="适应窗口").click()
    assert page.evaluate(VIEWBOX)["width"] == pytest.approx(fitted["width"], rel=0.01)
    # the current task at full size, in the middle of the frame
    figure.get_by_role("button", name="查看当前环节").click()
    shown = page.evaluate(VIEWBOX)
    task = page.evaluate(
        "() => { const e = document.querySelector('[data-bpmn-viewer]').bpmnViewer"
        ".get('elementRegistry').get('unit_review'); return {x: e.x, y: e.y, w: e.width, h: e.height}; }"
    )
    assert shown["scale"] == pytest.approx(1, rel=0.01)
    assert shown["x"] < task["x"] and task["x"] + task["w"] < shown["x"] + shown["width"]
    assert shown["y"] < task["y"] and task["y"] + task["h"] < shown["y"] + shown["height"]

    page.screenshot(path=artifact(".png"), full_page=True)
    # printed, the page carries the server's drawing, not the interactive one
    page.emulate_media(media="print")
    expect(figure.locator(".bpmn-fallback img")).to_be_visible()
    expect(figure.locator(".bpmn-canvas")).to_be_hidden()
    expect(figure.locator(".bpmn-toolbar")).to_be_hidden()
    page.emulate_media(media="screen")
    assert problems == [] and page.evaluate("() => window.__csp || []") == []


def test_reviewer_and_auditor_pages_use_the_viewer(page, live_server, submitted):
    problems = _watch(page)
    _login(page, live_server, "unit_a_admin")
    page.goto(live_server(f"/review/{submitted['unit']}/app/{submitted['app']}"))
    figure = _viewer_ready(page)
    expect(_element(figure, "unit_review")).to_have_class(_has("zc-current"))
    page.context.clear_cookies()  # log out

    _login(page, live_server, "auditor")
    page.goto(live_server(f"/audit/applications/{submitted['app']}/replay?step=1"))
    figure = _viewer_ready(page)
    # after step 1 (started) the application waited on the applicant's submission
    expect(_element(figure, "applicant_submit")).to_have_class(_has("zc-current"))
    expect(_element(figure, "unit_review")).not_to_have_class(_has("zc-current"))
    assert problems == [] and page.evaluate("() => window.__csp || []") == []


def test_without_javascript_the_server_svg_shows(browser, live_server, submitted):
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    try:
        page = context.new_page()
        _login(page, live_server, submitted["applicant"])
        page.goto(live_server(f"/apply/{submitted['app']}"))
        figure = page.locator("figure[data-bpmn-viewer]")
        expect(figure.locator(".bpmn-fallback img")).to_be_visible()
        expect(figure.locator(".bpmn-toolbar")).to_be_hidden()
        expect(figure.locator(".bpmn-canvas")).to_be_hidden()
    finally:
        context.close()


def _has(marker: str):
    return re.compile(rf"(^|\s){marker}(\s|$)")


def test_the_viewer_fits_a_phone_screen(page, live_server, submitted):
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server, submitted["applicant"])
    page.goto(live_server(f"/apply/{submitted['app']}"))
    figure = _viewer_ready(page)
    width = page.evaluate("() => document.documentElement.clientWidth")
    for part in (".bpmn-canvas", ".bpmn-toolbar", ".bpmn-legend"):
        box = figure.locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (part, box, width)
    figure.get_by_role("button", name="查看当前环节").click()
    frame, task = (
        figure.locator(".bpmn-canvas").bounding_box(),
        _element(figure, "unit_review").bounding_box(),
    )
    assert frame["x"] <= task["x"] and task["x"] + task["width"] <= frame["x"] + frame["width"], (frame, task)
    assert frame["y"] <= task["y"] and task["y"] + task["height"] <= frame["y"] + frame["height"], (
        frame,
        task,
    )
