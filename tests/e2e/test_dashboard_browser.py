"""The dashboard in Chromium on the demo world: the numbers on the page equal the database's, the three
charts render with bars and lines, and the Excel download opens with openpyxl holding the same numbers."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from calendars import TZ
from engine.accounts.models import Org, User
from engine.demo import DEMO_PASSWORD, seed_demo
from engine.deployment import read_sources
from engine.store import queries, services, worker
from engine.store.tables import ENDED_STATUSES, ApplicationRow

pytestmark = pytest.mark.e2e


def _declaration(series: str) -> dict:
    from pathlib import Path

    import yaml

    data = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(
            encoding="utf-8"
        )
    )
    return {**data, "series": series}


@pytest.fixture(scope="module")
def campaign(live_server):
    """The demo org tree; five applicants in Jiangjin: submitted engineering and economics declarations, a
    unit-approved one and two drafts left to lapse; the clock then passes the submission deadline."""
    from webapp.extensions import db

    app, clock = live_server.app, live_server.clock
    clock.set(datetime(2020, 11, 18, 10, tzinfo=TZ))  # this module's server: the submission window is open
    with app.app_context():
        factory = sessionmaker(db.engine, expire_on_commit=False)
        with factory() as s:
            services.deploy(s, clock, read_sources())
            seed_demo(s, clock)
            s.commit()
            units = {o.name: o.id for o in s.scalars(select(Org).where(Org.type == "unit"))}
            unit_a = units["重庆市江津区建设工程有限公司"]
            people = []
            for i in range(5):
                u = User(
                    username=f"e2e-{i}", real_name=f"申报人{i}", password_hash="!", created_at=clock.now()
                )
                s.add(u)
                s.commit()
                people.append(u.id)
            apps = [services.start_application(s, clock, p, unit_a) for p in people]
            for app_id, person, series in zip(
                apps[:3],
                people[:3],
                ["senior_engineer_full", "senior_economist_full", "senior_engineer_full"],
                strict=True,
            ):
                services.perform_task(
                    s, clock, app_id, "applicant_submit", queries.actor_for(s, person), _declaration(series)
                )
            admin = s.scalar(select(User.id).where(User.username == "unit_a_admin"))
            services.perform_task(
                s,
                clock,
                apps[2],
                "unit_review",
                queries.actor_for(s, admin),
                {"decision": "approve", "opinion": "该同志业绩突出，材料真实完备，同意推荐。"},
            )
        clock.advance(timedelta(days=7))  # past 11-23: the two drafts lapse
        worker.tick(factory, clock)
    return factory


def _db_counts(factory, org_id):
    with factory() as s:
        rows = s.execute(
            select(ApplicationRow.status, ApplicationRow.stage, func.count())
            .where(ApplicationRow.tier3_id == org_id)
            .group_by(ApplicationRow.status, ApplicationRow.stage)
        ).all()
    out: dict[str, int] = {}
    for status, stage, n in rows:
        key = status if status in ENDED_STATUSES else stage
        out[key] = out.get(key, 0) + n
    return out


def test_dashboard_numbers_charts_and_excel_match_the_database(page, live_server, campaign, tmp_path):
    with campaign() as s:
        office = s.scalar(select(Org.id).where(Org.type == "district_hr_office"))
    page.goto(live_server("/auth/login"))
    page.fill("input[name=username]", "jj_hr_admin")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.click("text=统计分析")
    page.wait_for_selector("table.counts")
    want = _db_counts(campaign, office)
    shown = {}
    for cell in page.locator("table.counts tfoot td[data-column]").all():
        shown[cell.get_attribute("data-column")] = int(cell.inner_text())
    assert {k: v for k, v in shown.items() if v} == want
    assert int(page.locator("[data-total]").first.get_attribute("data-total")) == sum(want.values())
    # Three charts drawn: the stacked bars and lapse bars have painted rectangles, the line chart its lines.
    assert page.locator("svg.chart").count() == 3
    bars = page.locator("#chart-stages rect.bar")
    assert bars.count() > 0 and bars.first.bounding_box()["width"] > 0
    assert page.locator("#chart-lapses rect.bar").count() > 0
    assert page.locator("#chart-days polyline.line").count() == 2
    assert page.locator("#chart-days polyline.line").first.bounding_box()["width"] > 100
    assert "逾期失效报告" in page.inner_text("#lapses") and "申报人本人" in page.inner_text("#lapses")
    # Each number opens the applications behind it.
    page.locator("table.counts tfoot td[data-column=expired] a").click()
    assert page.locator("tr[data-application]").count() == want["expired"]
    page.go_back()
    with page.expect_download() as info:
        page.locator("#counts .exports a", has_text="Excel").click()
    sheet = load_workbook(io.BytesIO(open(info.value.path(), "rb").read())).active
    values = list(sheet.values)
    headers, total_row = values[0], values[-1]
    labels = {
        key: page.locator("table.counts thead th").nth(i + 1).inner_text() for i, key in enumerate(shown)
    }
    for key, n in want.items():
        assert total_row[headers.index(labels[key])] == n
    assert total_row[-1] == sum(want.values())
