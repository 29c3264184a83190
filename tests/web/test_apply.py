"""我的申请书 through the pages: start in the window, fill with uploads, drafts, submit, progress, print."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from workflow_fixtures import UPLOADS, beijing, declaration, page_token

from engine.accounts.models import User
from engine.errors import FormInvalid
from engine.store import queries, services, starting
from webapp.extensions import db


def _user_id(wf, username):
    with wf.app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_start_fill_and_submit_declaration(wf):
    app_id = wf.start()
    page = wf.client("applicant").get(f"/apply/{app_id}/declaration").get_data(as_text=True)
    assert "本人郑重承诺" in page and 'name="work_history.2.employer"' in page
    r = wf.submit(app_id)
    assert r.status_code == 302, r.get_data(as_text=True)
    view = wf.view(app_id)
    assert view.status == "submitted" and view.stage == "unit_review"
    assert view.declaration["years_in_field"] == 20 and view.declaration["pledge_confirmed"] is True
    assert view.declaration["work_history"] == [
        {"from": "2000-07-01", "employer": "江津建设公司", "position": "技术员"}
    ]
    progress = wf.client("applicant").get(f"/apply/{app_id}").get_data(as_text=True)
    assert "江津建设公司" in progress and "赵六" in progress and "023-47500002" in progress
    assert "2020-11-26（24:00 截止）" in progress and "2020-11-27" not in progress


def test_file_that_is_not_what_its_name_says_is_refused_and_other_uploads_kept(wf):
    app_id = wf.start()
    fake = (UPLOADS / "text-named.pdf").read_bytes()
    r = wf.submit(app_id, **{"attachments.id_card__file": (io.BytesIO(fake), "id.pdf")})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "身份证复印件：只能上传 PDF、JPEG 或 PNG 文件" in html
    assert 'name="attachments.diploma" value="sha256:' in html and "重庆大学" in html
    kept = dict(re.findall(r'name="(attachments\.[a-z]+(?:_[a-z]+)*)" value="(sha256:[0-9a-f]{64})"', html))
    assert "attachments.id_card" not in kept and len(kept) == 3
    png = (UPLOADS / "certificate.png").read_bytes()
    r = wf.submit(
        app_id,
        **{
            "attachments.id_card__file": (io.BytesIO(png), "id.png"),
            "attachments.diploma__file": None,
            "attachments.title_certificate__file": None,
            "attachments.achievement_evidence__file": None,
            **kept,
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert wf.view(app_id).declaration["attachments"]["diploma"] == kept["attachments.diploma"]


def test_unconfirmed_pledge_and_bad_number_keep_everything_typed(wf):
    app_id = wf.start()
    r = wf.submit(app_id, pledge_confirmed=None, years_in_field="二十")
    html = r.get_data(as_text=True)
    assert (
        r.status_code == 422 and "诚信承诺：必须勾选确认" in html and "从事本专业工作年限：应为整数" in html
    )
    assert 'value="二十"' in html and "江津建设公司" in html
    assert wf.view(app_id).status == "draft"


def test_draft_is_saved_and_shown_again(wf):
    app_id = wf.start()
    r = wf.post_page(
        "applicant",
        f"/apply/{app_id}/declaration",
        {"action": "draft", "title_sought": "正高级工程师（水利）", "specialty": "水利工程"},
    )
    assert r.status_code == 302
    page = wf.client("applicant").get(f"/apply/{app_id}/declaration").get_data(as_text=True)
    assert 'value="正高级工程师（水利）"' in page and wf.view(app_id).status == "draft"
    with wf.app.app_context():  # kept by the store on the engine clock, not as files beside the uploads
        draft = services.load_draft(db.session, app_id, _user_id(wf, "applicant"))
        assert draft.data["specialty"] == "水利工程" and draft.saved_at == wf.clock.now()
        assert not (Path(wf.app.config["UPLOAD_DIR"]) / "drafts").exists()


def test_draft_after_submission_is_refused_and_the_draft_dropped(wf):
    app_id = wf.start()
    wf.post_page("applicant", f"/apply/{app_id}/declaration", {"action": "draft", "specialty": "水利工程"})
    html = wf.client("applicant").get(f"/apply/{app_id}/declaration").get_data(as_text=True)
    assert wf.submit(app_id).status_code == 302
    with wf.app.app_context():
        assert services.load_draft(db.session, app_id, _user_id(wf, "applicant")) is None
    r = wf.client("applicant").post(
        f"/apply/{app_id}/declaration",
        data={"csrf_token": page_token(html), "action": "draft", "specialty": "改"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 409 and "已被处理" in r.get_data(as_text=True)
    assert wf.view(app_id).declaration["specialty"] == "土木工程"


def test_starting_twice_in_a_campaign_is_refused(wf):
    app_id = wf.start()
    r = wf.post_page("applicant", "/apply/start", {"unit_id": str(wf.orgs["unit_b"])}, form_from="/apply/")
    assert r.status_code == 409 and f"已有一份未办结的申请书（编号 {app_id}）" in r.get_data(as_text=True)


def test_uploads_are_recorded_and_served_with_their_type(wf):
    app_id = wf.start()
    assert wf.submit(app_id).status_code == 302
    sha = wf.view(app_id).declaration["attachments"]["diploma"].removeprefix("sha256:")
    with wf.app.app_context():
        info = queries.attachment(db.session, sha)
    assert (info.mime, info.original_name, info.uploaded_by_id) == (
        "application/pdf",
        "diploma.pdf",
        _user_id(wf, "applicant"),
    )
    assert info.size == (UPLOADS / "certificate.pdf").stat().st_size and info.created_at == wf.clock.now()
    r = wf.client("applicant").get(f"/apply/{app_id}/files/{sha}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"


def test_own_application_does_not_serve_anothers_file(wf):
    mine, theirs = wf.start(), wf.start("applicant2")
    other = (UPLOADS / "certificate.png").read_bytes() + b"\0applicant2"
    assert (
        wf.submit(
            theirs, "applicant2", **{"attachments.id_card__file": (io.BytesIO(other), "x.png")}
        ).status_code
        == 302
    )
    sha = wf.view(theirs).declaration["attachments"]["id_card"].removeprefix("sha256:")
    assert wf.client("applicant2").get(f"/apply/{theirs}/files/{sha}").status_code == 200
    assert wf.client("applicant").get(f"/apply/{mine}/files/{sha}").status_code == 404


def test_double_submit_second_post_is_already_handled(wf):
    app_id = wf.start()
    path = f"/apply/{app_id}/declaration"
    html = wf.client("applicant").get(path).get_data(as_text=True)
    base = {"csrf_token": page_token(html), "version": "1"}
    first = wf.client("applicant").post(
        path, data={**declaration(), **base}, content_type="multipart/form-data"
    )
    second = wf.client("applicant").post(
        path, data={**declaration(), **base}, content_type="multipart/form-data"
    )
    assert first.status_code == 302 and second.status_code == 409
    assert "已被处理" in second.get_data(as_text=True)


def test_start_outside_the_window_names_it(wf):
    wf.move_to(beijing(2020, 11, 24, 9))
    c = wf.client("applicant")
    html = c.get("/apply/").get_data(as_text=True)
    r = c.post("/apply/start", data={"csrf_token": page_token(html), "unit_id": str(wf.orgs["unit_a"])})
    text = r.get_data(as_text=True)
    assert r.status_code == 409 and "申报人填报" in text and "11月17日至11月23日" in text
    assert "您还没有申请书" in c.get("/apply/").get_data(as_text=True)


def test_print_views_wait_for_acceptance(wf):
    app_id = wf.start()
    r = wf.client("applicant").get(f"/apply/{app_id}/print/review_form")
    assert r.status_code == 302
    assert wf.client("applicant2").get(f"/apply/{app_id}/print/review_form").status_code == 404


def test_files_read_as_each_applicants_own_upload_name(wf):
    """Two applicants upload the same bytes under different names: each page shows its own, never a hash."""
    png = (
        UPLOADS / "certificate.png"
    ).read_bytes() + b"\0id-card"  # the same bytes for both, no other field's
    first, second = wf.start(), wf.start("applicant2")
    assert (
        wf.submit(first, **{"attachments.id_card__file": (io.BytesIO(png), "张三身份证.png")}).status_code
        == 302
    )
    r = wf.submit(second, "applicant2", **{"attachments.id_card__file": (io.BytesIO(png), "孙八身份证.png")})
    assert r.status_code == 302
    mine = wf.client("applicant").get(f"/apply/{first}").get_data(as_text=True)
    theirs = wf.client("applicant2").get(f"/apply/{second}").get_data(as_text=True)
    assert "张三身份证.png" in mine and "孙八身份证.png" not in mine
    assert "孙八身份证.png" in theirs and "张三身份证.png" not in theirs
    unit = wf.orgs["unit_a"]
    response = wf.client("unit_a").get(f"/review/{unit}/app/{second}")
    review = response.get_data(as_text=True)
    assert response.status_code == 200, review
    assert "孙八身份证.png" in review and "title.png" in review and "下载（" not in review
    assert not re.search(r"[0-9a-f]{12}…", mine + theirs + review)


# ---- issue 11: the start form explains itself; a unit's own staff declare through it --------------------


def test_start_form_gives_way_to_the_reason_once_started_or_closed(wf):
    c = wf.client("applicant")
    assert "开始填写申请书" in c.get("/apply/").get_data(as_text=True)
    app_id = wf.start()
    page = c.get("/apply/").get_data(as_text=True)
    assert "开始填写申请书" not in page and 'action="/apply/start"' not in page
    assert f"您已在本批次创建申请书（编号 {app_id}）" in page
    wf.move_to(beijing(2020, 11, 24, 9))
    closed = wf.client("applicant2").get("/apply/").get_data(as_text=True)
    assert 'action="/apply/start"' not in closed
    assert "「申报人填报」时间为 2020年11月17日至11月23日，已于11月23日截止" in closed


def test_a_units_own_staff_start_from_their_unit_only(wf):
    c = wf.client("unit_a")  # a reviewer of unit_a declaring their own title
    page = c.get("/apply/").get_data(as_text=True)
    assert "江津建设公司" in page and "江津水务公司" not in page  # fixed, not picked from every unit
    assert f'name="unit_id" value="{wf.orgs["unit_a"]}"' in page
    other = wf.post_page("unit_a", "/apply/start", {"unit_id": str(wf.orgs["unit_b"])}, form_from="/apply/")
    assert other.status_code == 302 and "请选择所在单位" in c.get("/apply/").get_data(as_text=True)
    with wf.app.app_context(), pytest.raises(FormInvalid) as refused:  # the engine holds the rule too
        services.start_application(db.session, wf.clock, _user_id(wf, "unit_a"), wf.orgs["unit_b"])
    assert refused.value.errors == {"unit_id": "所在单位：您是“江津建设公司”的工作人员，只能通过本单位申报"}
    app_id = wf.start("unit_a")
    assert wf.view(app_id).chain["unit"] == wf.orgs["unit_a"]


def test_an_applicant_who_declared_before_finds_their_unit_chosen(wf):
    wf.start(unit="unit_b")
    wf.move_to(beijing(2020, 11, 24, 9))
    with wf.app.app_context():
        assert starting.unit_choice(db.session, _user_id(wf, "applicant")).chosen == wf.orgs["unit_b"]
