"""One whole 2020 campaign through the UI in Chromium, in order, on the sandbox clock (GitHub issue 7, item 3).

Registration (applicant, org admin), 单位注册 and its confirmation by the parent's admin, a declaration with
uploads, the unit's approval and the printed 公示表, the clock moved past the public notice on the operator's
clock page, report, tier 2, a tier 3 return with a reason, correction and resubmission, the chain again (no
second notice), committee acceptance, the applicant's 评审表 and 公示表, onsite confirmation on 12-23, and an
auditor's replay verification. Only the demo org tree (engine.demo.seed_demo) is set up outside the browser;
the deployment, every account and org this test needs, and every action go through the pages.

Screenshots: test-artifacts/campaign-NN-*.png; print views: test-artifacts/campaign-*.pdf; step timings:
test-artifacts/campaign-timings.txt.
"""

from __future__ import annotations

import re

import pytest
from campaign_kit import (
    ARTIFACTS,
    Cast,
    assert_pdf_has,
    credit_code,
    norm,
    pdf_text,
    resident_id,
    submit,
    tiny_pdf,
    tiny_png,
    upload,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PASSWORD = "demo1234"  # the demo accounts' password (engine.demo.DEMO_PASSWORD)
NEW_PASSWORD = "Kaohe2020x"

APPLICANT = {"name": "欧阳明远", "id": resident_id("50011619780512003"), "mobile": "13912345678"}
ORG_ADMIN = {"name": "邓晓梅", "id": resident_id("50011619820304004"), "mobile": "13887654321"}
UNIT = {
    "name": "重庆江津几江桥梁工程有限公司",
    "code": credit_code("91500116MA60K7T3X"),
    "contact": "邓晓梅",
    "phone": "023-47521234",
}
PARENT = "江津区住房和城乡建设委员会"  # district_dept in the demo tree; its admin is jj_dept_admin
TIER3 = "江津区人力资源和社会保障局（区职改办）"
COMMITTEE = "重庆市正高级工程师评审委员会"

OPINION = "该同志材料真实完整，业绩突出，符合申报条件，同意推荐。"
RETURN_REASON = "业绩成果佐证材料缺少项目竣工验收证明，请补充上传并在业绩中注明验收时间。"
ACHIEVEMENTS = "主持江津区几江长江大桥引道工程设计与施工管理，获重庆市优质工程奖；发表论文三篇。"
CORRECTED = ACHIEVEMENTS + "该项目于2019年6月通过竣工验收（验收证明已补充上传）。"


@pytest.fixture(scope="module")
def demo_tree(live_server):
    """The demo org tree and staff accounts (password demo1234); the live server starts on 2020-10-21.

    Passwords are hashed cheaply here, as the other suites do (engine.accounts.people documents the knob):
    the flow logs in nine people and scrypt costs about a second each on a busy machine.
    """
    from engine.demo import seed_demo
    from webapp.extensions import db

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("engine.accounts.people.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
        with live_server.app.app_context():
            seed_demo(db.session, live_server.clock)
            db.session.commit()
        yield live_server


@pytest.fixture
def cast(browser, demo_tree, request):
    cast = Cast(browser, demo_tree.url)
    yield cast
    report = getattr(request.node, "rep_call", None)
    cast.close(failed=report is not None and report.failed)
    ARTIFACTS.mkdir(exist_ok=True)
    lines = [f"{name:<48} {seconds:6.2f} s" for name, seconds in cast.timings]
    lines.append(f"{'total':<48} {sum(s for _, s in cast.timings):6.2f} s")
    (ARTIFACTS / "campaign-timings.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n" + "\n".join(lines))


# ---- small UI steps ----------------------------------------------------------------------------------


def flash_ok(page: Page, text: str) -> None:
    """The page after an action says `text` in a success message and shows no error."""
    expect(page.locator(".flashes .flash-success").filter(has_text=text)).to_have_count(1)
    expect(page.locator(".flash-error, .form-errors")).to_have_count(0)


def register_person(cast: Cast, who: str, person: dict) -> Page:
    page = cast.goto(who, "/auth/register")
    page.fill("#real_name", person["name"])
    page.fill("#id_number", person["id"])
    page.fill("#mobile", person["mobile"])
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password2", NEW_PASSWORD)
    submit(page, page.get_by_role("button", name="注册", exact=True))
    flash_ok(page, f"您的登录用户名是身份证号码 {person['id']}")
    expect(page.locator(".nav-user")).to_contain_text(person["name"])
    return page


def move_clock(cast: Cast, target: str, fired: int | None = None, shot: str | None = None) -> None:
    """The operator moves the sandbox clock on /admin/clock (Beijing time); due timers fire at once."""
    page = cast.goto("operator", "/admin/clock")
    page.fill("#target", target)
    submit(page, page.get_by_role("button", name="拨到该时间"))
    flash_ok(page, f"模拟时钟已拨到 {target if ':' in target else target + ' 00:00'}")
    if fired is not None:
        flash_ok(page, f"触发定时事件 {fired} 个")
    expect(page.locator(".sandbox-banner")).to_contain_text(target)
    if shot:
        cast.shot("operator", shot)


def open_task(cast: Cast, who: str, org_name: str, stage_label: str) -> Page:
    """申请书审核 → the org's inbox → 办理 on the applicant's row → the task page of that stage."""
    page = cast.goto(who, "/review/")
    with page.expect_navigation():
        page.get_by_role("link", name=org_name, exact=True).click()
    row = page.locator("tbody tr", has_text=APPLICANT["name"]).filter(has_text=stage_label)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("可办理")
    with page.expect_navigation():
        row.get_by_role("link", name="办理").click()
    expect(page.locator("h1")).to_contain_text(stage_label)
    expect(page.locator("h1")).to_contain_text(APPLICANT["name"])
    return page


def decide(page: Page, decision: str, opinion: str = OPINION, reason: str | None = None) -> None:
    page.check(f"input[name=decision][value={decision}]")
    page.fill("#f-opinion", opinion)
    if reason is not None:
        page.fill("#f-reason", reason)
    submit(page, page.get_by_role("button", name="提交", exact=True))


def review(
    cast: Cast,
    who: str,
    org_name: str,
    stage_label: str,
    decision: str = "approve",
    reason: str | None = None,
    shot: str | None = None,
    opinion: str = OPINION,
) -> Page:
    page = open_task(cast, who, org_name, stage_label)
    if shot:
        cast.shot(who, shot)
    decide(page, decision, opinion=opinion, reason=reason)
    flash_ok(page, f"「{stage_label}」已办理")
    return page


def print_pdf(page: Page, name: str) -> str:
    """Print the current print view to PDF with Chromium; return its text (whitespace removed)."""
    path = ARTIFACTS / f"campaign-{name}.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(path), format="A4", print_background=True)
    page.emulate_media(media="screen")
    return pdf_text(path)


def progress(cast: Cast, app_id: int) -> Page:
    return cast.goto("applicant", f"/apply/{app_id}")


def status_of(page: Page, label: str):
    """The <dd> after a <dt> in the status block of a progress or application page."""
    return page.locator("dl.status dt", has_text=label).locator("xpath=following-sibling::dd[1]")


def data_of(page: Page, label: str):
    """The <dd> after the <dt> titled exactly `label` in a submitted declaration."""
    dt = page.locator("dl.data dt").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    return dt.locator("xpath=following-sibling::dd[1]")


# ---- the campaign ----------------------------------------------------------------------------------------


def test_whole_campaign_through_the_ui(cast: Cast, demo_tree):
    # 10-21 (registration window): the operator deploys the 2020 campaign on the checked deploy page.
    cast.login("operator", "operator", PASSWORD)
    page = cast.goto("operator", "/admin/deploy")
    submit(page, page.get_by_role("button", name="检查并部署"))
    flash_ok(page, "已部署")
    expect(page.locator("table.list").first).to_contain_text("cq-2020-senior")
    expect(page.locator(".sandbox-banner")).to_contain_text("2020-10-21 10:00")
    cast.step("deploy (operator)")

    # Personal registration: the applicant and the person who will register the unit.
    page = register_person(cast, "applicant", APPLICANT)
    cast.shot("applicant", "01-applicant-registered")
    register_person(cast, "unit", ORG_ADMIN)
    cast.step("personal registration x2")

    # 我的单位 → 单位注册: a unit under the district department, with its credit code and a PNG certificate.
    page = cast.goto("unit", "/orgs/")
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name="单位注册").click()
    expect(page.locator("h1")).to_have_text("我的单位 → 单位注册")
    page.select_option("#org_type", label="单位")
    page.fill("#name", UNIT["name"])
    page.fill("#credit_code", UNIT["code"])
    parent_value = page.locator("#parent_id option", has_text=PARENT).get_attribute("value")
    page.select_option("#parent_id", parent_value)
    page.fill("#district", "江津区")
    page.fill("#contact_person", UNIT["contact"])
    page.fill("#contact_phone", UNIT["phone"])
    page.set_input_files("#certificate", upload("营业执照.png", tiny_png((20, 90, 200))))
    cast.shot("unit", "02-org-register-form")
    submit(page, page.get_by_role("button", name="提交注册"))
    flash_ok(page, "等待上级单位管理员确认绑定")
    expect(page.locator("table", has_text=UNIT["name"])).to_contain_text("待上级确认")

    # The parent org's admin sees the pending binding with its certificate, and confirms it.
    page = cast.login("jj_dept", "jj_dept_admin", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("link", name=f"待确认绑定（{PARENT}）").click()
    card = page.locator("article.card", has_text=UNIT["name"])
    expect(card).to_contain_text(UNIT["code"])
    expect(card).to_contain_text(f"{UNIT['contact']} {UNIT['phone']}")
    cert = page.request.get(cast.url(card.get_by_role("link", name="查看证照扫描件").get_attribute("href")))
    assert cert.ok and cert.headers["content-type"] == "image/png"
    cast.shot("jj_dept", "03-binding-pending")
    submit(page, card.get_by_role("button", name="确认绑定"))
    flash_ok(page, f"已确认“{UNIT['name']}”的绑定")
    page = cast.goto("unit", "/orgs/")
    expect(page.locator("table", has_text="我所在的单位")).to_contain_text(UNIT["name"])
    expect(page.locator("table", has_text="我所在的单位")).to_contain_text("管理员")
    cast.step("org registration + confirmation")

    # 11-17 09:00: 申报人填报 opens.
    move_clock(cast, "2020-11-17 09:00")
    cast.step("clock -> 11-17")

    # The applicant starts a declaration for the new unit, fills it, uploads evidence, confirms the pledge.
    page = cast.goto("applicant", "/apply/")
    page.select_option("#unit_id", label=UNIT["name"])
    submit(page, page.get_by_role("button", name="开始填写申请书"))
    flash_ok(page, "申请书已创建")
    app_id = int(re.search(r"/apply/(\d+)/declaration", page.url).group(1))
    page.select_option("#f-series", label="正高级工程师")
    page.fill("#f-title_sought", "正高级工程师（土木建筑）")
    page.fill("#f-specialty", "桥梁与隧道工程")
    page.fill("#f-current_title", "高级工程师")
    page.fill("#f-current_title_date", "2012-12-20")
    page.select_option("#f-education", "大学本科")
    page.fill("#f-graduated_school", "重庆交通学院")
    page.fill("#f-graduation_date", "2000-07-01")
    page.fill("#f-years_in_field", "20")
    page.fill("#f-work_history-0-from", "2000-07-15")
    page.fill("#f-work_history-0-employer", UNIT["name"])
    page.fill("#f-work_history-0-position", "总工程师")
    page.fill("#f-achievements", ACHIEVEMENTS)
    page.set_input_files("#f-attachments-id_card", upload("身份证.png", tiny_png()))
    page.set_input_files("#f-attachments-diploma", upload("毕业证.pdf", tiny_pdf("diploma")))
    page.set_input_files("#f-attachments-title_certificate", upload("职称证.pdf", tiny_pdf("title")))
    page.set_input_files(
        "#f-attachments-achievement_evidence",
        [upload("获奖证书.png", tiny_png((10, 160, 60))), upload("论文.pdf", tiny_pdf("paper"))],
    )
    page.check("#f-pledge_confirmed")
    cast.shot("applicant", "04-declaration-filled")
    submit(page, page.get_by_role("button", name="确认承诺并提交"))
    flash_ok(page, "申请书已提交")
    assert page.url.endswith(f"/apply/{app_id}")
    # Progress: the org it waits on, with that org's contact person and phone (DESIGN.md §2, §3 Progress).
    expect(status_of(page, "状态")).to_have_text("已提交")
    expect(status_of(page, "等待办理单位")).to_have_text(UNIT["name"])
    expect(status_of(page, "联系人")).to_have_text(UNIT["contact"])
    expect(status_of(page, "联系电话")).to_have_text(UNIT["phone"])
    expect(data_of(page, "业绩成果佐证材料").get_by_role("link")).to_have_count(2)
    id_card = page.request.get(
        cast.url(data_of(page, "身份证复印件").get_by_role("link").get_attribute("href"))
    )
    assert id_card.ok and id_card.headers["content-type"] == "image/png" and id_card.body() == tiny_png()
    cast.shot("applicant", "05-progress-waiting-on-unit")
    cast.step("declaration with uploads, pledge, submit")

    # 11-26: the unit approves ("审核通过，打印公示表"); the 5-working-day notice starts.
    move_clock(cast, "2020-11-26 10:00")
    page = review(cast, "unit", UNIT["name"], "单位审核", shot="06-unit-review-task")
    expect(page.locator(".notice[role=status]")).to_contain_text(
        "公示中：公示期至 2020-12-03（24:00 截止），12月4日起可上报"
    )
    expect(page.get_by_role("link", name=re.compile("办理「上报主管部门」"))).to_have_count(0)
    with page.expect_navigation():
        page.get_by_role("link", name="打印公示表（15份）").click()
    expect(page.locator("h1")).to_have_text("2020年度职称申报公示表")
    cast.shot("unit", "07-unit-notice-form")
    text = print_pdf(page, "notice-form-unit")
    assert_pdf_has(
        text,
        APPLICANT["name"],
        "2020年度职称申报公示表",
        "本表共需15份",
        UNIT["name"],
        APPLICANT["id"],
        "1978年5月12日",
        "公示时间：2020年11月26日至2020年12月3日",  # from the approval to the notice's last day
    )
    cast.step("unit approval + 公示表 PDF")

    # Past the notice: 12-04, the first day reporting is allowed; the public_notice timer fires on the move.
    move_clock(cast, "2020-12-04 09:00", fired=1, shot="08-clock-past-notice")
    page = review(cast, "unit", UNIT["name"], "上报主管部门")
    cast.step("clock -> 12-04, unit report")

    # Tier 2 (the district department) approves; the applicant sees it now waits on tier 3 and its contact.
    review(cast, "jj_dept", PARENT, "区县主管部门/人事代理机构审核")
    page = progress(cast, app_id)
    expect(status_of(page, "等待办理单位")).to_have_text(TIER3)
    expect(status_of(page, "联系人")).to_have_text("张老师")
    expect(status_of(page, "联系电话")).to_have_text(re.compile(r"^023-4753\d{4}$"))
    cast.step("tier 2 approve")

    # Tier 3 (the district HR office) returns it with a reason.
    cast.login("jj_hr", "jj_hr_admin", PASSWORD)
    review(
        cast,
        "jj_hr",
        TIER3,
        "区县职改部门/市级主管部门审核",
        decision="return",
        reason=RETURN_REASON,
        opinion="",  # a return needs its reason, not a 10-character 推荐意见
        shot="09-tier3-return",
    )
    cast.step("tier 3 return")

    # The applicant sees the reason, corrects the declaration, adds the missing evidence and resubmits.
    page = progress(cast, app_id)
    expect(status_of(page, "状态")).to_contain_text("退回")
    expect(page.locator("table.list", has_text="退回/不予上报原因")).to_contain_text(RETURN_REASON)
    cast.shot("applicant", "10-progress-returned")
    with page.expect_navigation():
        page.get_by_role("link", name="补正后重新提交").click()
    expect(page.locator("h1")).to_contain_text("补正申请书")
    expect(page.locator(".notice[role=note]")).to_contain_text(RETURN_REASON)
    expect(page.locator("#f-title_sought")).to_have_value("正高级工程师（土木建筑）")  # the submitted data
    page.fill("#f-achievements", CORRECTED)
    page.set_input_files(
        "#f-attachments-achievement_evidence", upload("竣工验收证明.pdf", tiny_pdf("acceptance"))
    )
    if not page.is_checked("#f-pledge_confirmed"):
        page.check("#f-pledge_confirmed")
    cast.shot("applicant", "11-correction")
    submit(page, page.get_by_role("button", name="确认承诺并提交"))
    flash_ok(page, "补正材料已重新提交")
    expect(data_of(page, "业绩成果佐证材料").get_by_role("link")).to_have_count(3)
    expect(status_of(page, "等待办理单位")).to_have_text(UNIT["name"])
    cast.step("applicant correction + resubmit")

    # Back through the unit (no second public notice), tier 2 and tier 3.
    page = review(cast, "unit", UNIT["name"], "单位审核")
    expect(page.locator(".notice[role=status]", has_text="公示中")).to_have_count(0)
    expect(page.get_by_role("link", name="办理「上报主管部门」")).to_be_visible()
    review(cast, "unit", UNIT["name"], "上报主管部门")
    review(cast, "jj_dept", PARENT, "区县主管部门/人事代理机构审核")
    review(cast, "jj_hr", TIER3, "区县职改部门/市级主管部门审核")
    cast.step("unit/tier2/tier3 again (no notice)")

    # The committee accepts (受理).
    cast.login("committee", "committee_staff", PASSWORD)
    review(cast, "committee", COMMITTEE, "评委会审核受理", shot="12-committee-review")
    cast.step("committee acceptance")

    # The applicant prints 评审表 (2 copies) and 公示表 (15 copies).
    page = progress(cast, app_id)
    expect(status_of(page, "状态")).to_contain_text("受理")
    cast.shot("applicant", "13-progress-accepted")
    with page.expect_navigation():
        page.get_by_role("link", name="打印评审表（一式2份）").click()
    expect(page.locator("h1")).to_have_text("2020年度正高级工程师职称评审表")
    cast.shot("applicant", "14-review-form")
    text = print_pdf(page, "review-form")
    # the corrected declaration is what is printed, with the approving opinions
    assert_pdf_has(
        text,
        APPLICANT["name"],
        "2020年度正高级工程师职称评审表",
        "本表一式2份",
        "验收证明已补充上传",
        OPINION,
        APPLICANT["id"],
        "男",
        "1978年5月12日",
        "负责人签字",
        "（盖章）",
    )
    # opinions by round, the latest first: round 2 (after the correction) before round 1 and its return
    assert text.index(norm("第2轮审核")) < text.index(norm("第1轮审核")) < text.index(norm(RETURN_REASON))
    assert text.count(norm("负责人签字")) == 5  # unit review, unit report, tier 2, tier 3, committee
    page = progress(cast, app_id)
    with page.expect_navigation():
        page.get_by_role("link", name="打印公示表（15份）").click()
    cast.shot("applicant", "15-notice-form")
    text = print_pdf(page, "notice-form")
    assert_pdf_has(
        text,
        APPLICANT["name"],
        "2020年度职称申报公示表",
        "本表共需15份",
        "公示时间：2020年11月26日至2020年12月3日",
    )
    cast.step("applicant prints 评审表 + 公示表 (PDF)")

    # 12-23: the committee desk records the paper forms and the fee.
    move_clock(cast, "2020-12-23 09:00")
    cast.login("desk", "committee_desk", PASSWORD)
    page = open_task(cast, "desk", COMMITTEE, "现场缴费并提交纸质材料")
    page.check("input[name=decision][value=approve]")
    page.fill("#f-review_form_copies", "2")
    page.fill("#f-notice_form_copies", "15")
    page.check("#f-fee_paid")
    page.fill("#f-receipt_number", "CQ-2020-000123")
    cast.shot("desk", "16-onsite-confirm")
    submit(page, page.get_by_role("button", name="提交", exact=True))
    flash_ok(page, "「现场缴费并提交纸质材料」已办理")
    page = progress(cast, app_id)
    expect(status_of(page, "状态")).to_contain_text("确认")
    cast.step("clock -> 12-23, onsite confirmation")

    # An auditor finds the application, opens its timeline and runs the replay verification.
    page = cast.login("auditor", "auditor", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("link", name="审计", exact=True).click()
    page.fill("#applicant", APPLICANT["name"])
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    row = page.locator("tbody tr", has_text=APPLICANT["name"])
    expect(row).to_have_count(1)
    with page.expect_navigation():
        row.get_by_role("link", name=str(app_id), exact=True).click()
    expect(page.locator("h1")).to_contain_text(APPLICANT["name"])
    diagram = page.locator("figure.bpmn-viewer")  # bpmn-js draws the process, the path taken marked
    expect(diagram).to_have_attribute("data-viewer", "ready")
    expect(diagram.locator(".djs-container > svg")).to_be_visible()
    expect(diagram.locator(".djs-element.zc-done").first).to_be_visible()
    cast.shot("auditor", "17-audit-timeline")
    with page.expect_navigation():
        page.get_by_role("link", name="重放核验").click()
    expect(page.locator(".notice[role=status]")).to_contain_text("通过：哈希链完整")
    cast.shot("auditor", "18-audit-verify")
    cast.step("auditor timeline + verify")
