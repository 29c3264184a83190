"""The reviewer's desk for hundreds: search, sort, numbered pages, claims, 已办, CSV of any view."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import update
from workflow_fixtures import page_token

from engine.accounts.models import User
from webapp.csv_export import neutralise as safe_cell
from webapp.extensions import db

OPINION = "材料真实完整，符合申报条件，同意推荐。"


def _two_submitted(wf):
    ids = []
    for who in ("applicant", "applicant2"):
        app_id = wf.start(who)
        assert wf.submit(app_id, who).status_code == 302
        ids.append(app_id)
    with wf.app.app_context():
        db.session.execute(
            update(User).where(User.username == "applicant2").values(id_number="50011619800101123X")
        )
        db.session.commit()
    return ids


def test_search_by_name_exact_id_number_and_unit(wf):
    first, second = _two_submitted(wf)
    unit = wf.orgs["unit_a"]
    c = wf.client("unit_a")
    page = c.get(f"/review/{unit}/?name=孙").get_data(as_text=True)
    assert "孙八" in page and "张三" not in page and "共 1 份" in page
    page = c.get(f"/review/{unit}/?id_number=50011619800101123x").get_data(as_text=True)
    assert "孙八" in page and "张三" not in page
    page = c.get(f"/review/{unit}/?id_number=500116198001011").get_data(
        as_text=True
    )  # a prefix is not a match
    assert "没有符合查找条件的申请书" in page
    page = c.get(f"/review/{unit}/?unit=江津建设").get_data(as_text=True)
    assert "孙八" in page and "张三" in page and "共 2 份" in page
    # another org's reviewer searching by the same name finds nothing of unit A's
    assert "孙八" not in wf.client("unit_b").get(f"/review/{wf.orgs['unit_b']}/?name=孙").get_data(
        as_text=True
    )


def test_sortable_columns_and_numbered_pages(wf):
    first, second = _two_submitted(wf)
    unit = wf.orgs["unit_a"]
    c = wf.client("unit_a")
    up = c.get(f"/review/{unit}/?sort=id&desc=0").get_data(as_text=True)
    down = c.get(f"/review/{unit}/?sort=id&desc=1").get_data(as_text=True)
    assert up.index("张三") < up.index("孙八") and down.index("孙八") < down.index("张三")
    assert 'aria-sort="descending"' in down and "共 2 份，第 1 / 1 页" in down
    assert "data-select-all" in up and "desk.js" in up  # select-all lives in a static file (no inline script)


def test_claim_is_shown_to_colleagues_who_cannot_act_or_batch_it(wf):
    first, _ = _two_submitted(wf)
    unit = wf.orgs["unit_a"]
    inbox = wf.client("unit_a").get(f"/review/{unit}/").get_data(as_text=True)
    r = wf.client("unit_a").post(
        f"/review/{unit}/claim", data={"csrf_token": page_token(inbox), "claim": f"{first}:unit_review"}
    )
    assert r.status_code == 302
    colleague = wf.client("unit_a2").get(f"/review/{unit}/").get_data(as_text=True)
    assert "单位甲审核员" in colleague and f'value="{first}:unit_review:' not in colleague
    task = wf.client("unit_a2").get(f"/review/{unit}/app/{first}/task/unit_review").get_data(as_text=True)
    assert "已被同事认领" in task and 'name="opinion"' not in task
    refused = wf.act("unit_a2", "unit_a", first, "unit_review")
    assert refused.status_code == 409 and "单位甲审核员" in refused.get_data(as_text=True)
    # a colleague who is not an admin cannot release it
    r = wf.client("unit_a2").post(
        f"/review/{unit}/release",
        data={"csrf_token": page_token(colleague), "release": f"{first}:unit_review"},
    )
    assert "只有其本人或本单位管理员可以释放" in wf.client("unit_a2").get(r.headers["Location"]).get_data(
        as_text=True
    )
    assert wf.act("unit_a", "unit_a", first, "unit_review").status_code == 302  # the holder acts


def test_handled_list_shows_outcomes_and_exports(wf):
    first, second = _two_submitted(wf)
    unit = wf.orgs["unit_a"]
    assert wf.act("unit_a", "unit_a", first, "unit_review").status_code == 302
    assert (
        wf.act(
            "unit_a", "unit_a", second, "unit_review", decision="return", reason="请补充学历证明"
        ).status_code
        == 302
    )
    page = wf.client("unit_a").get(f"/review/{unit}/handled").get_data(as_text=True)
    assert "共 2 份" in page and "退回补正" in page and "公示中" in page
    data = wf.client("unit_a").get(f"/review/{unit}/handled?format=csv&name=孙").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[0][0] == "申请书编号" and len(rows) == 2 and rows[1][1] == "孙八"
    assert (
        wf.client("unit_b").get(f"/review/{wf.orgs['unit_b']}/handled").get_data(as_text=True).count("<tr>")
        == 0
    )


def test_csv_of_the_current_view_neutralises_formulas(wf):
    _two_submitted(wf)
    unit = wf.orgs["unit_a"]
    data = wf.client("unit_a").get(f"/review/{unit}/export.csv?view=all&sort=name").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert len(rows) == 3 and rows[0][-1] == "认领人" and "（24:00 截止）" in rows[1][8]
    assert (
        safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
        and safe_cell("-1") == "'-1"
        and safe_cell("张三") == "张三"
    )


def test_a_capped_total_is_shown_as_more_than(wf, monkeypatch):
    """A broad search on a large org counts only up to desk.COUNT_CAP: the page says so instead of a total."""
    from engine.store import desk

    _two_submitted(wf)
    monkeypatch.setattr(desk, "RESOLVE_LIMIT", 0)
    monkeypatch.setattr(desk, "COUNT_CAP", 1)
    unit = wf.orgs["unit_a"]
    page = wf.client("unit_a").get(f"/review/{unit}/?unit=江津建设").get_data(as_text=True)
    assert "超过 1 份" in page and "请缩小查找条件" in page and "孙八" in page and "张三" in page
    assert "共 1 份" not in page and "当前条件下前 1 份" in page  # nor does the CSV link promise every row
    monkeypatch.setattr(desk, "MAX_PER_PAGE", 1)  # a CSV holds at most this many rows: the links say so
    page = wf.client("unit_a").get(f"/review/{unit}/?view=all").get_data(as_text=True)
    assert "共 2 份" in page and "当前条件下前 1 份" in page


def test_stray_query_keys_that_collide_with_url_for_are_not_carried_into_links(wf):
    """`?org_id=`, `?endpoint=`, `?_external=` once reached url_for through the pager/export links (a 500)."""
    first, _ = _two_submitted(wf)
    unit = wf.orgs["unit_a"]
    assert wf.act("unit_a", "unit_a", first, "unit_review").status_code == 302
    client = wf.client("unit_a")
    for path in (f"/review/{unit}/handled", f"/review/{unit}/"):
        for query in (
            "org_id=",
            "org_id=7&name=孙",
            "endpoint=x",
            "_external=1&_scheme=javascript",
            "format=x",
        ):
            r = client.get(f"{path}?{query}")
            assert r.status_code == 200, (path, query, r.status_code)
            links = re.findall(r'href="([^"]*)"', r.get_data(as_text=True))
            assert not [h for h in links if h.startswith(("javascript:", "http:")) or "endpoint=" in h], links
    page = client.get(f"/review/{unit}/handled?name=孙&sort=name&page=1").get_data(as_text=True)
    assert "name=%E5%AD%99" in page and "sort=name" in page  # what the desk reads is carried on
