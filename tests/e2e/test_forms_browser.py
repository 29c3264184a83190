"""Forms in Chromium (issue 11): the declaration usable at 390 px (no sideways page scroll, no input narrower
than 200 px, 工作经历 rows as stacked cards), the error summary focused with links that reach their field,
and the org registration's parent list following the chosen type."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker
from test_pages import OVERFLOW_JS
from werkzeug.security import generate_password_hash

from calendars import TZ
from engine.accounts.models import User
from engine.deployment import read_sources
from engine.store import services
from engine.store.simulate import ensure_tree

pytestmark = pytest.mark.e2e

PW = "forms-e2e-1"

# Visible controls a person types into, with their rendered width (file inputs and radios aside).
NARROW_INPUTS_JS = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter(el => !['hidden', 'checkbox', 'radio', 'file', 'submit', 'button'].includes(el.type))
  .filter(el => el.offsetParent !== null)
  .map(el => ({id: el.id, width: Math.round(el.getBoundingClientRect().width)}))"""


@pytest.fixture(scope="module")
def world(live_server):
    """On 2020-11-10 (单位注册 open): the campaign deployed, an org tree, and two people who log in with PW:
    `forms-applicant` and `forms-new`."""
    from webapp.extensions import db

    clock = live_server.clock
    clock.set(datetime(2020, 11, 10, 9, tzinfo=TZ))
    with live_server.app.app_context():
        with sessionmaker(db.engine, expire_on_commit=False)() as s:
            services.deploy(s, clock, read_sources())
            tree = ensure_tree(s, clock, 2, prefix="forms")
            (applicant, unit), (newcomer, _) = tree.applicants[:2]
            pw = generate_password_hash(PW, method="pbkdf2:sha256:1000")
            for uid, name in ((applicant, "forms-applicant"), (newcomer, "forms-new")):
                s.execute(update(User).where(User.id == uid).values(username=name, password_hash=pw))
            s.commit()
    return {"applicant": applicant, "unit": unit}


@pytest.fixture(scope="module")
def forms(live_server, world):
    """2020-11-18 (申报人填报 open): `forms-applicant` has started a declaration. Tests using it run after
    the registration test (the simulated clock only moves forward)."""
    from webapp.extensions import db

    live_server.clock.set(datetime(2020, 11, 18, 9, tzinfo=TZ))
    with live_server.app.app_context():
        with sessionmaker(db.engine, expire_on_commit=False)() as s:
            app_id = services.start_application(s, live_server.clock, world["applicant"], world["unit"])
    return {"app_id": app_id}


def _login(page, live_server, username):
    page.goto(live_server("/auth/login"))
    page.fill("#username", username)
    page.fill("#password", PW)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


def test_parent_list_follows_the_chosen_org_type(page, live_server, world):
    _login(page, live_server, "forms-new")
    page.goto(live_server("/orgs/register"))
    committee = page.locator("#parent_id option", has_text="forms评委会")
    office = page.locator("#parent_id option", has_text="forms区0职改办")
    dept = page.locator("#parent_id option", has_text="forms市级主管部门0")
    assert committee.is_disabled() and office.is_disabled() and not dept.is_disabled()  # 单位 first
    page.select_option("#org_type", "municipal_dept")
    assert not committee.is_disabled() and office.is_disabled() and dept.is_disabled()
    page.select_option("#org_type", "district_dept")
    assert committee.is_disabled() and not office.is_disabled()


def test_declaration_is_usable_at_390px(page, live_server, forms, artifact):
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server, "forms-applicant")
    assert page.goto(live_server(f"/apply/{forms['app_id']}/declaration")).status == 200
    page.wait_for_load_state("networkidle")  # the diagram viewer has drawn itself
    result = page.evaluate(OVERFLOW_JS)
    assert result["scrollWidth"] <= result["clientWidth"], f"the declaration scrolls sideways: {result}"
    widths = page.evaluate(NARROW_INPUTS_JS)
    assert any(w["id"] == "f-work_history-0-employer" for w in widths)
    narrow = [w for w in widths if w["width"] < 200]
    assert not narrow, f"inputs narrower than 200px at 390px: {narrow}"
    page.screenshot(path=artifact(".png"), full_page=True)


def test_error_summary_takes_focus_and_its_links_reach_the_field(page, live_server, forms):
    _login(page, live_server, "forms-applicant")
    page.goto(live_server(f"/apply/{forms['app_id']}/declaration"))
    with page.expect_navigation():
        page.get_by_role("button", name="确认承诺并提交").click()
    summary = page.locator(".form-errors")
    expect(summary).to_be_focused()
    link = summary.locator("a[href='#f-title_sought']")
    expect(link).to_have_text("申报职称名称：必须填写")
    link.click()
    expect(page.locator("#f-title_sought")).to_be_focused()
