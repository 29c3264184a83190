"""我的申请书 through the pages: start in the window, fill with uploads, drafts, submit, progress, print."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import select
from workflow_fixtures import UPLOADS, beijing, declaration, page_token

from engine.accounts.models import User
from engine.store import queries, services
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
