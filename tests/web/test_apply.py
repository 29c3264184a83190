"""我的申请书 through the pages: start in the window, fill with uploads, drafts, submit, progress, print."""
from __future__ import annotations

import io
import re

from workflow_fixtures import UPLOADS, beijing, declaration, page_token


def test_start_fill_and_submit_declaration(wf):
    app_id = wf.start()
    page = wf.client("applicant").get(f"/apply/{app_id}/declaration").get_data(as_text=True)
    assert "本人郑重承诺" in page and 'name="work_history.2.employer"' in page
    r = wf.submit(app_id)
    assert r.status_code == 302, r.get_data(as_text=True)
    view = wf.view(app_id)
    assert view.status == "submitted" and view.stage == "unit_review"
    assert view.declaration["years_in_field"] == 20 and view.declaration["pledge_confirmed"] is True
    assert view.declaration["work_history"] == [{"from": "2000-07-01", "employer": "江津建设公司", "position": "技术员"}]
    progress = wf.client("applicant").get(f"/apply/{app_id}").get_data(as_text=True)
    assert "江津建设公司" in progress and "赵六" in progress and "023-47500002" in progress
    assert "2020-11-26 24:00" in progress or "2020-11-27 00:00" in progress


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
    r = wf.submit(app_id, **{"attachments.id_card__file": (io.BytesIO(png), "id.png"),
                             "attachments.diploma__file": None, "attachments.title_certificate__file": None,
                             "attachments.achievement_evidence__file": None, **kept})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert wf.view(app_id).declaration["attachments"]["diploma"] == kept["attachments.diploma"]


def test_unconfirmed_pledge_and_bad_number_keep_everything_typed(wf):
    app_id = wf.start()
    r = wf.submit(app_id, pledge_confirmed=None, years_in_field="二十")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "诚信承诺：必须勾选确认" in html and "从事本专业工作年限：应为整数" in html
    assert 'value="二十"' in html and "江津建设公司" in html
    assert wf.view(app_id).status == "draft"


def test_draft_is_saved_and_shown_again(wf):
    app_id = wf.start()
    r = wf.post_page("applicant", f"/apply/{app_id}/declaration",
                     {"action": "draft", "title_sought": "正高级工程师（水利）", "specialty": "水利工程"})
    assert r.status_code == 302
    page = wf.client("applicant").get(f"/apply/{app_id}/declaration").get_data(as_text=True)
    assert 'value="正高级工程师（水利）"' in page and wf.view(app_id).status == "draft"


def test_double_submit_second_post_is_already_handled(wf):
    app_id = wf.start()
    path = f"/apply/{app_id}/declaration"
    html = wf.client("applicant").get(path).get_data(as_text=True)
    base = {"csrf_token": page_token(html), "version": "1"}
    first = wf.client("applicant").post(path, data={**declaration(), **base}, content_type="multipart/form-data")
    second = wf.client("applicant").post(path, data={**declaration(), **base}, content_type="multipart/form-data")
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
