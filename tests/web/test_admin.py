"""Operator pages: the checked deploy page and the sandbox clock."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import func, select
from workflow_fixtures import T0, World, beijing

from engine.clock import SimulatedClock
from engine.paths import bpmn_dir
from engine.store.tables import DeploymentRow
from webapp.extensions import db


def _deployments(wf):
    with wf.app.app_context():
        return db.session.scalar(select(func.count(DeploymentRow.id)))


def test_deploy_page_is_for_operators_only(wf):
    assert wf.client("unit_a").get("/admin/deploy").status_code == 403


def test_deploy_shipped_folder_and_list_applications(wf):
    app_id = wf.start()
    r = wf.post_page("operator", "/admin/deploy", {"folder": str(bpmn_dir())})
    assert r.status_code == 302
    page = wf.client("operator").get("/admin/deploy").get_data(as_text=True)
    assert "已设为当前部署" in page and "张三" in page and str(app_id) in page
    assert re.search(r"<td>当前</td><td>1</td>", page) and "草稿" in page  # one application on it


def test_deploy_page_counts_applications_per_version(wf, tmp_path):
    wf.start()
    folder = tmp_path / "bpmn"
    shutil.copytree(bpmn_dir(), folder)
    bpmn = next(folder.glob("*.bpmn"))
    bpmn.write_text(bpmn.read_text(encoding="utf-8") + "\n<!-- next year -->\n", encoding="utf-8")
    wf.move_to(beijing(2020, 11, 19, 10))
    refused = wf.post_page("operator", "/admin/deploy", {"folder": str(folder)})
    assert refused.status_code == 422 and "已被另一份部署" in refused.get_data(as_text=True)
    replaced = wf.post_page("operator", "/admin/deploy", {"folder": str(folder), "replace": "y"})
    assert replaced.status_code == 302
    wf.start("applicant2")
    page = wf.client("operator").get("/admin/deploy").get_data(as_text=True)
    rows = re.findall(
        r"<tr><td><code[^>]*>([0-9a-f]{12})</code></td><td>cq-2020-senior</td><td>[^<]*</td>"
        r"<td>(当前)?</td><td>(\d+)</td></tr>",
        page,
    )
    assert [(current, n) for _, current, n in rows] == [("当前", "1"), ("", "1")]
    assert _deployments(wf) == 2


def test_broken_campaign_is_refused_with_every_error(wf, tmp_path):
    folder = tmp_path / "bpmn"
    shutil.copytree(bpmn_dir(), folder)
    campaign = folder / "campaigns" / "cq-2020-senior.toml"
    campaign.write_text(
        campaign.read_text(encoding="utf-8").replace("closes = 2020-11-23", "closes = 2020-11-10"),
        encoding="utf-8",
    )
    before = _deployments(wf)
    r = wf.post_page("operator", "/admin/deploy", {"folder": str(folder)})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "未部署" in html and "applicant_submit" in html
    assert _deployments(wf) == before


def test_deploy_page_refuses_a_diagram_whose_dry_run_fails(wf, tmp_path):
    folder = tmp_path / "bpmn"
    shutil.copytree(bpmn_dir(), folder)
    broken = Path(__file__).resolve().parents[1] / "data/bpmn/invalid/dry_run/script_raises.bpmn"
    shutil.copyfile(broken, folder / "declaration.bpmn")
    before = _deployments(wf)
    r = wf.post_page("operator", "/admin/deploy", {"folder": str(folder)})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "未部署" in html
    assert "试运行" in html and "评委会审核受理" in html and "ZeroDivisionError" in html
    assert _deployments(wf) == before


def test_clock_page_404_outside_sandbox(wf):
    # explicit, whatever ZHICHENG_SANDBOX the environment of the test run holds
    wf.app.config["ZHICHENG_SANDBOX"] = False
    assert wf.client("operator").get("/admin/clock").status_code == 404


def test_sandbox_clock_moves_forward_only_and_fires_timers(make_app):

    clock = SimulatedClock(T0)
    app = make_app(clock=clock, ZHICHENG_SANDBOX=True)
    from engine.accounts import services as acc

    with app.app_context():
        acc.create_staff_user(
            db.session, clock, username="operator", real_name="运维", password="secret123", is_operator=True
        )
        db.session.commit()
    world = World(app, clock, {})
    page = world.client("operator").get("/admin/clock").get_data(as_text=True)
    assert "当前为演示环境" in page and "2020-11-18 10:00" in page
    assert world.post_page("operator", "/admin/clock", {"action": "day"}).status_code == 302
    assert clock.now() == beijing(2020, 11, 19, 10)
    r = world.post_page("operator", "/admin/clock", {"action": "to", "target": "2020-11-01"})
    assert r.status_code == 422 and "不能倒退" in r.get_data(as_text=True)
    assert clock.now() == beijing(2020, 11, 19, 10)
    assert (
        world.post_page(
            "operator", "/admin/clock", {"action": "to", "target": "2020-11-27 09:00"}
        ).status_code
        == 302
    )
    assert clock.now() == beijing(2020, 11, 27, 9)
