"""A lane for a new tier through the pages: the example campaign's 市职改办复核 (lane orgType = city_hr_office)
lands in the city office's inbox, its reviewer acts on it there, and nobody else's membership opens it."""

from __future__ import annotations

from workflow_fixtures import _org, _user, beijing

from engine.deployment import read_sources
from engine.paths import bpmn_dir
from webapp.extensions import db

EXAMPLE = bpmn_dir() / "scenarios" / "expert_precheck"
PILOT = "cq-2020-expert-pilot"


def test_the_city_office_reviews_the_new_tier_in_its_inbox(wf):
    from engine.store import services

    with wf.app.app_context():
        s = db.session
        city = _org(s, wf.clock, "city_hr_office", "重庆市职称改革办公室", None)
        _user(s, wf.clock, "city", "市职改办审核员", (city, "reviewer"))
        s.commit()
        services.deploy(s, wf.clock, read_sources(EXAMPLE, EXAMPLE / "campaigns" / f"{PILOT}.toml"))
    wf.orgs["city"] = city
    r = wf.post_page(
        "applicant",
        "/apply/start",
        {"unit_id": str(wf.orgs["unit_a"]), "campaign_id": PILOT},
        form_from="/apply/",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    app_id = int(r.headers["Location"].rstrip("/").split("/")[-2])
    assert wf.submit(app_id).status_code == 302
    assert wf.act("unit_a", "unit_a", app_id, "unit_review").status_code == 302
    wf.move_to(beijing(2020, 11, 26, 9))  # the 5-working-day notice ended 11-25 24:00
    for user, org, stage in (
        ("unit_a", "unit_a", "unit_report"),
        ("dept", "dept", "tier2_review"),
        ("office", "office", "tier3_review"),
    ):
        assert wf.act(user, org, app_id, stage).status_code == 302, stage
    assert wf.view(app_id).stage == "city_recheck"
    wf.move_to(beijing(2020, 11, 27, 10))
    inbox = wf.client("city").get(f"/review/{city}/").get_data(as_text=True)
    assert "市职改办复核" in inbox and "张三" in inbox
    assert wf.client("office").get(f"/review/{city}/").status_code == 404  # not the office's org
    assert wf.client("committee").get(f"/review/{wf.orgs['committee']}/app/{app_id}").status_code == 404
    assert wf.act("city", "city", app_id, "city_recheck").status_code == 302
    assert wf.view(app_id).stage == "committee_precheck"
    assert wf.client("city").get(f"/review/{city}/app/{app_id}").status_code == 200  # its 已办
