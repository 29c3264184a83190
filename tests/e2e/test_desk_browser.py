"""The reviewer's desk in Chromium: search, sort, select-all for batch approval, claim, and a refusal shown
before the click (a colleague's claim), on applications set up through the engine."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker
from werkzeug.security import generate_password_hash

from calendars import TZ
from engine.accounts.models import Membership, Org, User
from engine.deployment import read_sources
from engine.store import queries, services
from engine.store.simulate import ensure_tree

PW = "desk-e2e-1"
DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def desk(live_server):
    """Six submitted applications at one unit; its admin `desk-admin` and a reviewer `desk-colleague`."""
    from webapp.extensions import db

    clock = live_server.clock
    clock.set(datetime(2020, 11, 18, 9, tzinfo=TZ))
    with live_server.app.app_context():
        factory = sessionmaker(db.engine, expire_on_commit=False)
        with factory() as s:
            services.deploy(s, clock, read_sources())
            tree = ensure_tree(s, clock, 80, prefix="desk")
            unit = tree.applicants[0][1]
            people = [uid for uid, u in tree.applicants if u == unit][:2]
            people += [uid for uid, _ in tree.applicants if uid not in people][: 6 - len(people)]
            s.execute(
                update(User).values(password_hash=generate_password_hash(PW, method="pbkdf2:sha256:1000"))
            )
            admin = s.scalar(
                select(Membership.user_id).where(Membership.org_id == unit, Membership.role == "admin")
            )
            s.execute(update(User).where(User.id == admin).values(username="desk-admin"))
            colleague = User(
                username="desk-colleague", real_name="同事乙", password_hash="!", created_at=clock.now()
            )
            s.add(colleague)
            s.flush()
            s.execute(
                update(User)
                .where(User.id == colleague.id)
                .values(password_hash=generate_password_hash(PW, method="pbkdf2:sha256:1000"))
            )
            s.add(Membership(user_id=colleague.id, org_id=unit, role="reviewer"))
            s.commit()
            apps = []
            for uid in people:
                app_unit = unit  # everyone applies through the same unit so its desk has a page of work
                app_id = services.start_application(s, clock, uid, app_unit)
                services.complete_task(
                    s, clock, app_id, "applicant_submit", queries.actor_for(s, uid), dict(DECLARATION)
                )
                apps.append(app_id)
            name = s.scalar(select(Org.name).where(Org.id == unit))
    clock.set(datetime(2020, 11, 19, 9, tzinfo=TZ))
    return {"unit": unit, "apps": apps, "unit_name": name}


def _login(page, live_server, username):
    page.goto(live_server("/auth/login"))
    page.fill("#username", username)
    page.fill("#password", PW)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash-success")).to_have_count(1)


def test_search_sort_select_all_and_claim(page, live_server, desk):
    _login(page, live_server, "desk-admin")
    page.goto(live_server(f"/review/{desk['unit']}/"))
    expect(page.locator(".pager")).to_contain_text("共 6 份，第 1 / 1 页")
    # sort by number, then reverse it
    page.get_by_role("link", name="编号").click()
    first = page.locator("table.desk tbody tr").first.locator("td").nth(1)
    expect(first).to_have_text(str(min(desk["apps"])))
    page.get_by_role("link", name="编号 ↑").click()
    expect(page.locator("table.desk tbody tr").first.locator("td").nth(1)).to_have_text(
        str(max(desk["apps"]))
    )
    # search by name
    name = page.locator("table.desk tbody tr").first.locator("td").nth(3).inner_text()  # after 申报批次
    page.fill("input[name=name]", name)
    page.get_by_role("button", name="查找").click()
    expect(page.locator(".pager")).not_to_contain_text(
        "共 6 份"
    )  # names contain each other (申报人1, 申报人41)
    names = page.locator("table.desk tbody tr td:nth-child(4)").all_inner_texts()
    assert names and all(name in n for n in names)
    page.get_by_role("link", name="清除条件").click()
    # select all on the page ticks every row's box
    page.get_by_label("全选本页").check()
    boxes = page.locator("input[name=items]")
    expect(boxes).to_have_count(6)
    for i in range(6):
        expect(boxes.nth(i)).to_be_checked()
    page.get_by_label("全选本页").uncheck()
    expect(page.locator("input[name=items]:checked")).to_have_count(0)
    # claim the first application
    page.locator("table.desk tbody tr").first.get_by_role("button", name="认领").click()
    expect(page.locator(".flash-success")).to_contain_text("已认领")
    expect(page.locator("table.desk tbody tr").first.locator("[data-claim]")).to_contain_text("（我）")


def test_a_colleague_sees_the_claim_and_the_refusal_before_the_click(page, live_server, desk):
    _login(page, live_server, "desk-colleague")
    page.goto(live_server(f"/review/{desk['unit']}/?sort=id"))
    claimed = page.locator("table.desk tbody tr").filter(has=page.locator("[data-claim]", has_text="（我）"))
    expect(claimed).to_have_count(0)
    row = page.locator("table.desk tbody tr").filter(has=page.get_by_role("button", name="释放"))
    expect(row).to_have_count(0)  # a reviewer cannot release a colleague's claim
    holder = page.locator("table.desk tbody tr [data-claim]").filter(has_text="审核员")
    expect(holder).to_have_count(1)
    holder.locator("xpath=ancestor::tr").get_by_role("link", name="办理").click()
    expect(page.locator(".refusal")).to_contain_text("已被同事认领")
    expect(page.locator("textarea[name=opinion]")).to_have_count(0)
