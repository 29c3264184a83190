"""我的申请书 through the pages: start in the window, fill with uploads, drafts, submit, progress, print."""
from __future__ import annotations

import io

from workflow_fixtures import UPLOADS, beijing, declaration, page_token, wf  # noqa: F401


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
