"""The left menu and password recovery in Chromium: follow the notice literally (click 我的单位, then 单位注册),
the 申请书审核 badge equals the desk's own count, the menu folds behind 菜单 at 390 px without sideways scroll,
and a reset password must be changed before anything else is reachable."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect
from test_pages import OVERFLOW_JS

from calendars import TZ
from engine.accounts import services as acc
from engine.accounts.models import Membership
from engine.deployment import read_sources
from engine.store import queries, services

PW = "nav-e2e-123"
APPLICANT_ID = "500116198505052342"
DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def tree(live_server):
    """The 2020 campaign deployed; committee → 江津区职改办 → 江津区住建委 → 江津建设公司 with an admin and two
    reviewers at the unit (passwords hashed cheaply, as the other browser suites do)."""
    from webapp.extensions import db

    clock = live_server.clock
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("engine.accounts.people.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
        with live_server.app.app_context():
            s = db.session
            services.deploy(s, clock, read_sources())
            ids = {}
            parent = None
            for key, org_type, name in (
                ("committee", "committee", "工程系列评委会"),
                ("office", "district_hr_office", "江津区职改办"),
                ("dept", "district_dept", "江津区住建委"),
            ):
                ids[key] = acc.create_preset_org(
                    s,
                    clock,
                    org_type=org_type,
                    name=name,
                    admin_username=f"nav_{key}",
                    admin_password=PW,
                    parent_id=parent,
                    district="江津区",
                    series_codes="senior_engineer_full" if key == "committee" else None,
                ).id
                parent = ids[key]
            ids["unit"] = acc.create_preset_org(
                s,
                clock,
                org_type="unit",
                name="江津建设公司",
                admin_username="nav_unit",
                admin_password=PW,
                admin_real_name="单位管理员",
                parent_id=ids["dept"],
                district="江津区",
            ).id
            for username, name in (("nav_reviewer", "审核员甲"), ("nav_reviewer2", "审核员乙")):
                person = acc.create_staff_user(s, clock, username=username, real_name=name, password=PW)
                s.add(Membership(user_id=person.id, org_id=ids["unit"], role="reviewer"))
            s.commit()
        yield ids


def log_in(page: Page, url: str, username: str, password: str = PW) -> None:
    page.goto(url + "/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


def menu(page: Page):
    return page.get_by_role("navigation", name="功能菜单")


def test_follow_the_notice_click_my_org_then_org_registration(page, live_server, tree):
    page.goto(live_server("/auth/register"))
    page.fill("#real_name", "李单位")
    page.fill("#id_number", APPLICANT_ID)
    page.fill("#mobile", "13800138009")
    page.fill("#password", PW)
    page.fill("#password2", PW)
    with page.expect_navigation():
        page.get_by_role("button", name="注册", exact=True).click()
    nav = menu(page)
    expect(nav.get_by_role("link", name="单位注册")).to_be_hidden()  # folded: the notice says click 我的单位
    nav.get_by_text("我的单位", exact=True).click()
    with page.expect_navigation():
        nav.get_by_role("link", name="单位注册").click()
    expect(page.locator("h1")).to_have_text("我的单位 → 单位注册")
    expect(menu(page).locator('[aria-current="page"]')).to_have_text("单位注册")


@pytest.fixture(scope="module")
def submitted(live_server, tree):
    """Two declarations submitted at the unit on 2020-11-18 (申报人填报 and 单位审核 open)."""
    from webapp.extensions import db

    clock = live_server.clock
    clock.set(datetime(2020, 11, 18, 9, tzinfo=TZ))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("engine.accounts.people.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
        with live_server.app.app_context():
            s = db.session
            for i, (name, id_number) in enumerate(
                (("张申报", "50011619800101123X"), ("王申报", "500116199009093457"))
            ):
                person = acc.register_person(
                    s, clock, real_name=name, id_number=id_number, mobile=f"1380013800{i}", password=PW
                )
                app_id = services.start_application(s, clock, person.id, tree["unit"])
                services.complete_task(
                    s, clock, app_id, "applicant_submit", queries.actor_for(s, person.id), dict(DECLARATION)
                )
            s.commit()
    return tree


def test_review_badge_equals_the_desks_count(page, live_server, submitted, artifact):
    log_in(page, live_server.url, "nav_reviewer")
    entry = menu(page).get_by_role("link", name=re.compile(r"^申请书审核（江津建设公司）"))
    expect(entry).to_be_visible()  # 单位中心 is unfolded: it has work waiting
    # what a screen reader says: the entry, then its count in words
    expect(entry).to_have_accessible_name(re.compile(r"^申请书审核（江津建设公司）\s*（2件待办）$"))
    badge = entry.locator(".badge").get_attribute("data-count")
    page.screenshot(path=artifact(".png"), full_page=True)
    with page.expect_navigation():
        entry.click()
    expect(page.locator('a[aria-current="page"]').filter(has_text="可办理")).to_contain_text(
        f"可办理（{badge}）"
    )
    expect(page.locator("main")).to_contain_text(f"共 {badge} 份")


def test_menu_folds_behind_a_toggle_at_390px_without_sideways_scroll(page, live_server, submitted, artifact):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, "nav_unit")
    for path in (
        "/",
        f"/review/{submitted['unit']}/",
        "/orgs/register",
        f"/orgs/{submitted['unit']}/passwords",
    ):
        page.goto(live_server(path))
        result = page.evaluate(OVERFLOW_JS)
        assert result["scrollWidth"] <= result["clientWidth"], f"{path} scrolls sideways at 390px: {result}"
    nav = menu(page)
    expect(nav.locator(".nav-groups")).to_be_hidden()
    nav.get_by_text(re.compile("^菜单")).click()
    expect(nav.get_by_role("link", name=re.compile("^申请书审核"))).to_be_visible()
    result = page.evaluate(OVERFLOW_JS)
    assert result["scrollWidth"] <= result["clientWidth"], f"the open menu scrolls sideways: {result}"
    page.screenshot(path=artifact(".png"), full_page=True)


def test_reset_password_must_be_changed_before_anything_else(browser, page, live_server, submitted):
    log_in(page, live_server.url, "nav_unit")
    menu(page).get_by_text("我的单位", exact=True).click()
    with page.expect_navigation():
        menu(page).get_by_role("link", name="密码重置（江津建设公司）").click()
    with page.expect_navigation():
        page.get_by_role("button", name="为审核员乙重置密码").click()
    one_time = page.locator("code.password").inner_text()
    assert len(one_time) == 12
    page.goto(live_server(f"/orgs/{submitted['unit']}/passwords"))  # shown once: never again on the page
    expect(page.locator("code.password")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("审核员乙")  # but the log records the reset

    other = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    try:
        p2 = other.new_page()
        log_in(p2, live_server.url, "nav_reviewer2", one_time)
        expect(p2).to_have_url(re.compile(r"/auth/password$"))
        expect(p2.locator("[data-forced]")).to_contain_text("您的密码已由管理员重置")
        p2.goto(live_server(f"/review/{submitted['unit']}/"))
        expect(p2).to_have_url(re.compile(r"/auth/password$"))
        expect(menu(p2).get_by_role("link")).to_have_count(1)
        p2.fill("#old_password", one_time)
        p2.fill("#new_password", "mine-anew-2020")
        p2.fill("#new_password2", "mine-anew-2020")
        with p2.expect_navigation():
            p2.get_by_role("button", name="修改密码").click()
        p2.goto(live_server(f"/review/{submitted['unit']}/"))
        expect(p2.locator("main")).to_contain_text("共 2 份")
    finally:
        other.close()
