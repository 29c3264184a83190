"""The dashboard: counts per stage × org, at-risk list, lapse report, SVG charts, CSV/Excel exports, scoping."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import func, select
from workflow_fixtures import _org, _user, beijing

from engine.store.tables import ApplicationRow
from webapp.extensions import db


def _campaign(wf):
    """Two applicants at unit_a: one submitted (at unit review), one left as a draft that lapses 11-24."""
    submitted = wf.start("applicant")
    assert wf.submit(submitted, "applicant").status_code == 302
    draft = wf.start("applicant2")
    return submitted, draft


def _db_counts(wf):
    with wf.app.app_context():
        rows = db.session.execute(
            select(ApplicationRow.status, ApplicationRow.stage, func.count()).group_by(
                ApplicationRow.status, ApplicationRow.stage
            )
        ).all()
    return {(s, st): n for s, st, n in rows}


def test_office_dashboard_counts_at_risk_and_charts(wf):
    submitted, draft = _campaign(wf)
    office = wf.orgs["office"]
    page = wf.client("office").get(f"/dashboard/{office}/?days=6").get_data(as_text=True)
    assert 'data-total="2"' in page
    assert 'data-column="unit_review"><a' in page and 'data-column="applicant_submit"><a' in page
    # at risk within 6 working days of 11-18: the draft (11-23) and the unit review (11-26), with contacts
    assert 'data-count="2"' in page and "赵六" in page and "023-47500002" in page and "申报人本人" in page
    assert page.index("2020-11-23（24:00 截止）") < page.index(
        "2020-11-26（24:00 截止）"
    )  # most pressing first
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    narrow = wf.client("office").get(f"/dashboard/{office}/?days=1").get_data(as_text=True)
    assert 'data-count="0"' in narrow
    # each number opens the applications behind it
    drill = (
        wf.client("office")
        .get(f"/dashboard/{office}/applications?column=unit_review&org={wf.orgs['dept']}")
        .get_data(as_text=True)
    )
    assert f'data-application="{submitted}"' in drill and f'data-application="{draft}"' not in drill


def test_lapse_report_names_the_responsible_org_and_exports_match(wf):
    _campaign(wf)
    wf.move_to(
        beijing(2020, 11, 27, 9)
    )  # the draft lapses 11-23 24:00; the unit lets unit review lapse 11-26
    office = wf.orgs["office"]
    page = wf.client("office").get(f"/dashboard/{office}/").get_data(as_text=True)
    assert "逾期失效报告" in page and "江津建设公司" in page and "申报人本人" in page
    assert _db_counts(wf) == {("expired", "applicant_submit"): 1, ("expired", "unit_review"): 1}
    csv_body = wf.client("office").get(f"/dashboard/{office}/export/lapses.csv").get_data()
    rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig"))))
    assert rows[0] == ["责任单位", "联系人", "联系电话", "失效环节", "份数"]
    assert sorted((r[0], r[4]) for r in rows[1:]) == [("江津建设公司", "1"), ("申报人本人", "1")]
    xlsx = wf.client("office").get(f"/dashboard/{office}/export/counts.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = list(sheet.values)
    assert values[0][0] == "单位" and "逾期失效" in values[0]
    assert values[-1][0] == "合计" and values[-1][-1] == 2


def test_dashboard_is_scoped_to_members_of_its_org(wf):
    _campaign(wf)
    office = wf.orgs["office"]
    assert wf.client("unit_a").get(f"/dashboard/{office}/").status_code == 404  # a unit reviewer
    assert wf.client("applicant").get(f"/dashboard/{office}/export/counts.csv").status_code == 404
    assert wf.client("applicant").get("/dashboard/").status_code == 403
    # another district's office sees none of Jiangjin's applications
    with wf.app.app_context():
        other = _org(db.session, wf.clock, "district_hr_office", "永川区职改办", wf.orgs["committee"])
        _user(db.session, wf.clock, "yc_office", "永川职改办", (other, "admin"))
        city = _org(db.session, wf.clock, "city_hr_office", "重庆市职称改革办公室", None)
        _user(db.session, wf.clock, "city", "市职改办", (city, "admin"))
        db.session.commit()
    assert 'data-total="0"' in wf.client("yc_office").get(f"/dashboard/{other}/").get_data(as_text=True)
    assert wf.client("yc_office").get(f"/dashboard/{office}/").status_code == 404
    assert 'data-total="2"' in wf.client("city").get(f"/dashboard/{city}/").get_data(as_text=True)


def test_bad_filters_are_a_clear_error(wf):
    office = wf.orgs["office"]
    for query, text in (
        ("days=99", "天数"),
        ("days=abc", "天数"),
        ("campaign=nope", "申报批次"),
        ("series=x", "申报系列"),
    ):
        response = wf.client("office").get(f"/dashboard/{office}/?{query}")
        assert response.status_code == 422 and text in response.get_data(as_text=True), query
