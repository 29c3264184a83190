"""Reviewer pages: the whole chain end to end on a simulated clock, and every refusal."""

from __future__ import annotations

import re

from workflow_fixtures import beijing, page_token, page_version

OPINION = "材料真实完整，符合申报条件，同意推荐。"


def _submitted(wf, username="applicant"):
    app_id = wf.start(username)
    assert wf.submit(app_id, username).status_code == 302
    return app_id


def test_whole_chain_through_the_pages(wf):
    app_id = _submitted(wf)
    unit = wf.orgs["unit_a"]
    inbox = wf.client("unit_a").get(f"/review/{unit}/?view=actionable").get_data(as_text=True)
    assert "张三" in inbox and "可办理（1）" in inbox
    task = wf.client("unit_a").get(f"/review/{unit}/app/{app_id}/task/unit_review").get_data(as_text=True)
    assert "江津建设公司" in task and "2020-11-26（24:00 截止）" in task and "2020-11-27" not in task
    assert wf.act("unit_a", "unit_a", app_id, "unit_review").status_code == 302
    page = wf.client("unit_a").get(f"/review/{unit}/app/{app_id}").get_data(as_text=True)
    assert (
        "公示期至 2020-11-25（24:00 截止），11月26日起可上报" in page
    )  # five working days after 11-18 end at 24:00 on 11-25
    notice = wf.client("unit_a").get(f"/review/{unit}/app/{app_id}/print/notice_form").get_data(as_text=True)
    assert "15份" in notice and "张三" in notice
    shown = wf.client("unit_a").get(f"/review/{unit}/app/{app_id}/task/unit_report").get_data(as_text=True)
    assert "公示期未满" in shown and "11月26日起可上报" in shown and 'name="opinion"' not in shown
    early = wf.act("unit_a", "unit_a", app_id, "unit_report")
    assert early.status_code == 409 and "公示期未满" in early.get_data(as_text=True)

    report = wf.move_to(beijing(2020, 11, 26, 9))
    assert [f[1] for f in report.fired] == ["public_notice"]
    assert wf.act("unit_a", "unit_a", app_id, "unit_report").status_code == 302
    assert wf.act("dept", "dept", app_id, "tier2_review").status_code == 302
    assert wf.act("office", "office", app_id, "tier3_review").status_code == 302
    assert wf.view(app_id).stage == "committee_review"

    committee = wf.orgs["committee"]
    waiting = wf.client("committee").get(f"/review/{committee}/?view=not_open").get_data(as_text=True)
    assert "2020-11-30 起可办理" in waiting
    version = wf.view(app_id).version
    task_path = f"/review/{committee}/app/{app_id}/task/committee_review"
    before = wf.client("committee").get(task_path).get_data(as_text=True)
    assert "尚未开放" in before and "11月30日起可办理" in before and 'name="opinion"' not in before
    closed = wf.act(
        "committee", "committee", app_id, "committee_review", opinion="材料齐全，同意受理，待开放后提交。"
    )
    page = closed.get_data(as_text=True)
    assert closed.status_code == 409 and "11月30日起可办理" in page
    assert "材料齐全，同意受理，待开放后提交。" in page  # what was typed is kept
    assert wf.view(app_id).version == version  # nothing changed

    wf.move_to(beijing(2020, 11, 30, 9))
    assert wf.act("committee", "committee", app_id, "committee_review").status_code == 302
    progress = wf.client("applicant").get(f"/apply/{app_id}").get_data(as_text=True)
    assert "已受理" in progress and "一式2份" in progress and "携带纸质材料并缴纳评审费" in progress
    review_form = wf.client("applicant").get(f"/apply/{app_id}/print/review_form").get_data(as_text=True)
    assert "一式2份" in review_form and "print.css" in review_form and OPINION in review_form

    desk_form = {
        "decision": "approve",
        "review_form_copies": "2",
        "notice_form_copies": "15",
        "fee_paid": "on",
        "receipt_number": "FP-2020-0001",
    }
    path = f"/review/{committee}/app/{app_id}/task/onsite_confirm"
    assert wf.client("committee").get(path).status_code == 403  # a reviewer is not the desk
    early = wf.post_page("desk", path, desk_form)
    assert early.status_code == 409 and "12月23日起可办理" in early.get_data(as_text=True)
    assert "FP-2020-0001" in early.get_data(as_text=True)
    wf.move_to(beijing(2020, 12, 23, 9))
    assert wf.post_page("desk", path, desk_form).status_code == 302
    assert wf.view(app_id).status == "confirmed"
    progress = wf.client("applicant").get(f"/apply/{app_id}").get_data(as_text=True)
    assert (
        "携带纸质材料" not in progress and "评委会已完成现场确认" in progress
    )  # the onsite hint is done with


def test_return_shows_reason_and_resubmission_goes_back_to_the_unit(wf):
    app_id = _submitted(wf)
    r = wf.act(
        "unit_a", "unit_a", app_id, "unit_review", decision="return", reason="身份证复印件不清晰，请重新上传"
    )
    assert r.status_code == 302
    progress = wf.client("applicant").get(f"/apply/{app_id}").get_data(as_text=True)
    assert "退回补正" in progress and "身份证复印件不清晰" in progress
    assert "补正后重新提交</a>" in progress  # the correction stage, as the stage model names it
    form = wf.client("applicant").get(f"/apply/{app_id}/declaration").get_data(as_text=True)
    assert "身份证复印件不清晰" in form and "江津建设公司" in form  # earlier data prefilled
    assert "补正申请书（编号" in form
    assert wf.submit(app_id).status_code == 302
    assert wf.view(app_id).stage == "unit_review"


def test_return_without_reason_keeps_the_opinion_typed(wf):
    app_id = _submitted(wf)
    r = wf.act("unit_a", "unit_a", app_id, "unit_review", decision="return")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "退回原因：必须填写" in html and OPINION in html
    assert wf.view(app_id).stage == "unit_review"


def test_another_orgs_application_is_not_found_and_unchanged(wf):
    app_id = _submitted(wf)
    before = wf.view(app_id).version
    unit_a, unit_b = wf.orgs["unit_a"], wf.orgs["unit_b"]
    other = wf.client("unit_b")
    assert other.get(f"/review/{unit_a}/").status_code == 404
    assert other.get(f"/review/{unit_b}/app/{app_id}/task/unit_review").status_code == 404
    assert other.get(f"/review/{unit_b}/app/{app_id}").status_code == 404
    r = wf.post_page(
        "unit_b",
        f"/review/{unit_b}/app/{app_id}/task/unit_review",
        {"decision": "approve", "opinion": OPINION},
        form_from=f"/review/{unit_b}/",
    )
    assert r.status_code == 404
    assert wf.client("applicant2").get(f"/apply/{app_id}").status_code == 404
    assert wf.view(app_id).version == before


def test_missing_csrf_token_is_refused(wf):
    app_id = _submitted(wf)
    path = f"/review/{wf.orgs['unit_a']}/app/{app_id}/task/unit_review"
    r = wf.client("unit_a").post(path, data={"decision": "approve", "opinion": OPINION})
    assert r.status_code == 400 and "安全令牌" in r.get_data(as_text=True)
    assert wf.view(app_id).stage == "unit_review"


def test_two_reviewers_on_one_task_one_wins(wf):
    """Both load the task at the same version before either posts; the second post is refused, nothing changes.

    Sequential on purpose (no threads, no sleeps): the race is the stale version both forms carry.
    """
    app_id = _submitted(wf)
    path = f"/review/{wf.orgs['unit_a']}/app/{app_id}/task/unit_review"
    pages = [(u, wf.client(u).get(path).get_data(as_text=True)) for u in ("unit_a", "unit_a2")]
    assert {page_version(html) for _, html in pages} == {str(wf.view(app_id).version)}
    results = [
        wf.client(user).post(
            path,
            data={
                "csrf_token": page_token(html),
                "version": page_version(html),
                "decision": "approve",
                "opinion": OPINION,
            },
        )
        for user, html in pages
    ]
    assert [r.status_code for r in results] == [302, 409], results[1].get_data(as_text=True)
    assert "已被处理" in results[1].get_data(as_text=True)
    reviews = [r for r in wf.view(app_id).reviews if r["stage"] == "unit_review"]
    assert [r["actor_name"] for r in reviews] == ["单位甲审核员"]


def test_unit_inbox_lists_applications_in_notice_with_the_countdown(wf):
    app_id = _submitted(wf)
    unit = wf.orgs["unit_a"]
    assert wf.act("unit_a", "unit_a", app_id, "unit_review").status_code == 302  # Wed 11-18
    html = wf.client("unit_a").get(f"/review/{unit}/").get_data(as_text=True)
    assert "公示中（1）" in html and "2020-11-25（24:00 截止）" in html and "还剩 5 个工作日" in html
    assert "2020-11-26 起" in html and f"/review/{unit}/app/{app_id}/print/notice_form" in html
    page = wf.client("unit_a").get(f"/review/{unit}/app/{app_id}").get_data(as_text=True)
    assert "打印公示表（15份）" in page  # after the stage whose approval starts the notice
    wf.move_to(beijing(2020, 11, 25, 9))
    assert "今日期满" in wf.client("unit_a").get(f"/review/{unit}/").get_data(as_text=True)
    assert "公示中" not in wf.client("dept").get(f"/review/{wf.orgs['dept']}/").get_data(as_text=True)
    wf.move_to(beijing(2020, 11, 26, 9))
    assert "公示中（" not in wf.client("unit_a").get(f"/review/{unit}/").get_data(as_text=True)


def test_batch_approve_reports_each_application(wf):
    first, second = _submitted(wf), _submitted(wf, "applicant2")
    unit = wf.orgs["unit_a"]
    inbox = wf.client("unit_a").get(f"/review/{unit}/").get_data(as_text=True)
    items = [f"{first}:unit_review:2", f"{second}:unit_review:1"]  # the second is stale: someone acted
    wf.act("unit_a2", "unit_a", second, "unit_review")
    r = wf.client("unit_a").post(
        f"/review/{unit}/batch", data={"csrf_token": page_token(inbox), "items": items, "opinion": OPINION}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "成功 1 份" in html and "已被处理" in html
    assert wf.view(first).status == "public_notice"


def test_inbox_exports_csv_with_bom(wf):
    _submitted(wf)
    r = wf.client("unit_a").get(f"/review/{wf.orgs['unit_a']}/export.csv?view=all")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.startswith("\ufeff".encode()) and "张三" in r.data.decode("utf-8-sig")


def test_attachment_download_is_scoped(wf):
    app_id = _submitted(wf)
    sha = wf.view(app_id).declaration["attachments"]["id_card"].removeprefix("sha256:")
    unit_a, unit_b = wf.orgs["unit_a"], wf.orgs["unit_b"]
    r = wf.client("unit_a").get(f"/review/{unit_a}/app/{app_id}/files/{sha}")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert wf.client("unit_b").get(f"/review/{unit_b}/app/{app_id}/files/{sha}").status_code == 404
    assert wf.client("applicant").get(f"/apply/{app_id}/files/{sha}").status_code == 200
    assert wf.client("applicant2").get(f"/apply/{app_id}/files/{sha}").status_code == 404


def test_extra_posted_fields_never_reach_the_process_data(wf):
    """The page forwards only the fields its form declares; a forged `has_tier2` or `return_stage` changes nothing."""
    from engine.clock import SimulatedClock
    from engine.store import services
    from webapp.extensions import db

    app_id = _submitted(wf)
    forged = {"has_tier2": "", "return_stage": "committee_review", "notice_done": "1"}
    assert wf.act("unit_a", "unit_a", app_id, "unit_review", **forged).status_code == 302
    with wf.app.app_context():  # the whole workflow as the store rebuilds it from its history
        state = services.load(db.session, app_id, SimulatedClock(beijing(2020, 11, 26, 9)))[1].to_json()
    assert '"return_stage": "committee_review"' not in state and '"notice_done": "1"' not in state
    view = wf.view(app_id)
    assert (view.status, view.stage) == ("public_notice", "public_notice")
    report = wf.move_to(beijing(2020, 11, 26, 9))
    assert [f[1] for f in report.fired] == ["public_notice"]
    assert wf.act("unit_a", "unit_a", app_id, "unit_report", has_tier2="").status_code == 302
    assert wf.view(app_id).stage == "tier2_review"  # the forged empty has_tier2 did not skip tier 2


def test_refused_review_links_each_error_and_groups_the_radios(wf):
    """Issue 11: the summary links to each field and takes focus; the decision is a fieldset with a legend;
    a return asks for its reason only, an approval for a 10-character opinion."""
    app_id = _submitted(wf)
    short = wf.act("unit_a", "unit_a", app_id, "unit_review", opinion="同意")
    page = short.get_data(as_text=True)
    assert short.status_code == 422
    assert 'class="form-errors" role="alert" tabindex="-1" autofocus' in page and "forms.js" in page
    assert '<a href="#f-opinion">推荐意见：至少填写10个字</a>' in page and 'id="f-opinion"' in page
    assert re.search(r'<fieldset class="field radio"[^>]*id="f-decision"[^>]*>\s*<legend>审核结果', page)
    bare_return = wf.act("unit_a", "unit_a", app_id, "unit_review", decision="return", opinion="")
    page = bare_return.get_data(as_text=True)
    assert bare_return.status_code == 422 and '<a href="#f-reason">退回原因：必须填写</a>' in page
    assert "推荐意见：" not in page
