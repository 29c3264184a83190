"""Account and org-tree use cases against SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts import services as acc
from engine.accounts.errors import ChainIncomplete, LoginFailed, LoginThrottled
from engine.accounts.models import Membership, Org
from engine.clock import SimulatedClock
from engine.db import Base, make_engine
from engine.errors import AlreadyHandled, FormInvalid, NotPermitted

ID_A, ID_B, ID_C = "50011619800101123X", "500116198505052342", "500116199009093457"
CODE_UNIT, CODE_DEPT, CODE_MUNI = "91500116MA5U000008", "91500116MA5U000109", "12500116MA5U00020F"
PW = "secret123"
SHA = "ab" * 32


@pytest.fixture(autouse=True)
def _fast_password_hash(monkeypatch):
    monkeypatch.setattr("engine.accounts.people.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def session(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


@pytest.fixture
def clock():
    return SimulatedClock(datetime(2020, 10, 21, 1, 0, tzinfo=UTC))


@pytest.fixture
def tree(session, clock):
    """A committee, the Jiangjin HR office under it, and a municipal dept; all preset."""
    committee = acc.create_preset_org(
        session,
        clock,
        org_type="committee",
        name="正高级工程师评委会",
        admin_username="committee",
        admin_password=PW,
        series_codes="ENG,ECO",
    )
    office = acc.create_preset_org(
        session,
        clock,
        org_type="district_hr_office",
        name="江津区职改办",
        admin_username="jj_office",
        admin_password=PW,
        parent_id=committee.id,
        district="江津区",
    )
    other = acc.create_preset_org(
        session,
        clock,
        org_type="district_hr_office",
        name="渝北区职改办",
        admin_username="yb_office",
        admin_password=PW,
        parent_id=committee.id,
        district="渝北区",
    )
    muni = acc.create_preset_org(
        session,
        clock,
        org_type="municipal_dept",
        name="市经信委",
        admin_username="muni",
        admin_password=PW,
        parent_id=committee.id,
    )
    return {
        "committee": committee,
        "office": office,
        "other_office": other,
        "muni": muni,
        "ids": {
            u: acc.authenticate(session, clock, u, PW).id
            for u in ("committee", "jj_office", "yb_office", "muni")
        },
    }


def person(session, clock, id_number=ID_A, name="张三"):
    return acc.register_person(
        session, clock, real_name=name, id_number=id_number, mobile="13800138000", password=PW, password2=PW
    )


def test_register_person_then_login_by_id_number(session, clock):
    p = person(session, clock)
    assert p.username == ID_A and p.memberships == ()
    assert acc.authenticate(session, clock, ID_A, PW).id == p.id


@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("id_number", {"id_number": "500116198001011231"}),
        ("mobile", {"mobile": "12800138000"}),
        ("password", {"password": "abcdefgh", "password2": "abcdefgh"}),
        ("password2", {"password2": "other1234"}),
    ],
)
def test_register_person_refuses_bad_field(session, clock, field, kwargs):
    data = {"real_name": "张三", "id_number": ID_A, "mobile": "13800138000", "password": PW, "password2": PW}
    with pytest.raises(FormInvalid) as exc:
        acc.register_person(session, clock, **{**data, **kwargs})
    assert field in exc.value.errors


def test_duplicate_id_number_refused(session, clock):
    person(session, clock)
    with pytest.raises(FormInvalid) as exc:
        person(session, clock, name="李四")
    assert "已注册" in exc.value.errors["id_number"]


def test_login_failures_slow_down_with_growing_delays_instead_of_locking(session, clock):
    person(session, clock)
    for _ in range(5):  # the free allowance: no wait
        with pytest.raises(LoginFailed):
            acc.authenticate(session, clock, ID_A, "wrong", address="198.51.100.7")
    with pytest.raises(LoginFailed):  # the 6th failure costs one second
        acc.authenticate(session, clock, ID_A, "wrong", address="198.51.100.7")
    with pytest.raises(LoginThrottled):  # even the right password waits, so guessing cannot go on
        acc.authenticate(session, clock, ID_A, PW, address="198.51.100.7")
    clock.advance(timedelta(seconds=1))
    with pytest.raises(LoginFailed):  # the 7th: two seconds
        acc.authenticate(session, clock, ID_A, "wrong", address="198.51.100.7")
    clock.advance(timedelta(seconds=1))
    with pytest.raises(LoginThrottled) as throttled:
        acc.authenticate(session, clock, ID_A, PW, address="198.51.100.7")
    assert "1 秒" in throttled.value.message
    clock.advance(timedelta(seconds=1))
    assert acc.authenticate(session, clock, ID_A, PW, address="198.51.100.7").username == ID_A


def test_change_password_checks_old_and_policy(session, clock):
    p = person(session, clock)
    with pytest.raises(FormInvalid) as exc:
        acc.change_password(session, clock, p.id, "nope", "newpass123")
    assert "old_password" in exc.value.errors
    with pytest.raises(FormInvalid):
        acc.change_password(session, clock, p.id, PW, "short1")
    acc.change_password(session, clock, p.id, PW, "newpass123", "newpass123")
    assert acc.authenticate(session, clock, ID_A, "newpass123").id == p.id


def _register_dept_and_unit(session, clock, tree):
    boss = person(session, clock, ID_B, "王五")
    dept = acc.register_org(
        session,
        clock,
        actor_id=boss.id,
        org_type="district_dept",
        name="江津区经信委",
        credit_code=CODE_DEPT,
        parent_id=tree["office"].id,
        district=None,
        contact_person="王五",
        contact_phone="023-47536971",
        certificate_sha256=SHA,
    )
    return boss, dept


def test_binding_confirmed_by_parent_admin_makes_registrant_admin(session, clock, tree):
    boss, dept = _register_dept_and_unit(session, clock, tree)
    assert dept.status == "pending" and dept.district == "江津区" and dept.registered_by_id == boss.id
    office_admin = tree["ids"]["jj_office"]
    assert [
        o.id for o in acc.list_pending_children(session, actor_id=office_admin, org_id=tree["office"].id)
    ] == [dept.id]
    assert acc.confirm_org(session, clock, actor_id=office_admin, org_id=dept.id).status == "active"
    assert acc.user_profile(session, boss.id).roles_in(dept.id) == {"admin"}
    with pytest.raises(AlreadyHandled):
        acc.confirm_org(session, clock, actor_id=office_admin, org_id=dept.id)


def test_confirm_by_someone_else_refused_and_nothing_changes(session, clock, tree):
    boss, dept = _register_dept_and_unit(session, clock, tree)
    for actor in (boss.id, tree["ids"]["yb_office"], tree["ids"]["committee"]):
        with pytest.raises(NotPermitted):
            acc.confirm_org(session, clock, actor_id=actor, org_id=dept.id)
    assert session.get(Org, dept.id).status == "pending"
    assert session.scalars(select(Membership).where(Membership.org_id == dept.id)).all() == []


def test_reject_needs_reason_and_code_can_be_registered_again(session, clock, tree):
    boss, dept = _register_dept_and_unit(session, clock, tree)
    office_admin = tree["ids"]["jj_office"]
    with pytest.raises(FormInvalid):
        acc.reject_org(session, clock, actor_id=office_admin, org_id=dept.id, reason=" ")
    rejected = acc.reject_org(session, clock, actor_id=office_admin, org_id=dept.id, reason="证照不清晰")
    assert rejected.status == "rejected" and rejected.reject_reason == "证照不清晰"
    again = acc.register_org(
        session,
        clock,
        actor_id=boss.id,
        org_type="district_dept",
        name="江津区经信委",
        credit_code=CODE_DEPT,
        parent_id=tree["office"].id,
        district="江津区",
        contact_person="王五",
        contact_phone="123",
        certificate_sha256=SHA,
    )
    assert again.id == dept.id and again.status == "pending" and again.reject_reason is None


def test_duplicate_credit_code_and_bad_parent_refused(session, clock, tree):
    boss, _dept = _register_dept_and_unit(session, clock, tree)
    with pytest.raises(FormInvalid) as exc:
        acc.register_org(
            session,
            clock,
            actor_id=boss.id,
            org_type="district_dept",
            name="重复",
            credit_code=CODE_DEPT,
            parent_id=tree["office"].id,
            district=None,
            contact_person="a",
            contact_phone="1",
            certificate_sha256=SHA,
        )
    assert "credit_code" in exc.value.errors
    with pytest.raises(FormInvalid) as exc:
        acc.register_org(
            session,
            clock,
            actor_id=boss.id,
            org_type="unit",
            name="某厂",
            credit_code=CODE_UNIT,
            parent_id=tree["committee"].id,
            district=None,
            contact_person="a",
            contact_phone="1",
            certificate_sha256=SHA,
        )
    assert "parent_id" in exc.value.errors
    with pytest.raises(FormInvalid) as exc:
        acc.register_org(
            session,
            clock,
            actor_id=boss.id,
            org_type="unit",
            name="某厂",
            credit_code="91500116MA5U000007",
            parent_id=tree["muni"].id,
            district=None,
            contact_person="a",
            contact_phone="1",
            certificate_sha256=SHA,
        )
    assert "校验位" in exc.value.errors["credit_code"]


def test_review_chain_through_district_and_municipal(session, clock, tree):
    boss, dept = _register_dept_and_unit(session, clock, tree)
    acc.confirm_org(session, clock, actor_id=tree["ids"]["jj_office"], org_id=dept.id)
    owner = person(session, clock, ID_C, "赵六")
    unit = acc.register_org(
        session,
        clock,
        actor_id=owner.id,
        org_type="unit",
        name="某机械厂",
        credit_code=CODE_UNIT,
        parent_id=dept.id,
        district="江津区",
        contact_person="赵六",
        contact_phone="1",
        certificate_sha256=SHA,
    )
    with pytest.raises(ChainIncomplete):
        acc.review_chain(session, unit.id)
    acc.confirm_org(session, clock, actor_id=boss.id, org_id=unit.id)
    assert acc.review_chain(session, unit.id) == {
        "unit": unit.id,
        "tier2": dept.id,
        "tier3": tree["office"].id,
        "committee": tree["committee"].id,
    }
    muni_unit = acc.create_preset_org(
        session,
        clock,
        org_type="unit",
        name="市属研究院",
        admin_username="inst",
        admin_password=PW,
        parent_id=tree["muni"].id,
    )
    assert acc.review_chain(session, muni_unit.id) == {
        "unit": muni_unit.id,
        "tier2": None,
        "tier3": tree["muni"].id,
        "committee": tree["committee"].id,
    }


def test_review_chain_in_a_cyclic_tree_is_incomplete_not_endless(session, clock, tree):
    """Bad data (a parent loop the forms never allow) ends the one-statement ancestry walk at its depth
    bound: the chain is refused with a message, acting orgs are still found."""
    from engine.accounts.tiers import acting_orgs

    muni_unit = acc.create_preset_org(
        session,
        clock,
        org_type="unit",
        name="环路研究院",
        admin_username="loop",
        admin_password=PW,
        parent_id=tree["muni"].id,
    )
    muni = session.get(Org, tree["muni"].id)
    saved, muni.parent_id = muni.parent_id, muni_unit.id  # municipal dept -> its own unit: a loop
    session.commit()
    with pytest.raises(ChainIncomplete):
        acc.review_chain(session, muni_unit.id)
    found = acting_orgs(session, muni_unit.id, {"tier3": "municipal_dept"}, {"tier3": "市级主管部门审核"})
    assert found == {"tier3": tree["muni"].id}
    muni.parent_id = saved
    session.commit()
    assert acc.review_chain(session, muni_unit.id)["tier3"] == tree["muni"].id


def test_hr_agency_only_by_that_offices_admin(session, clock, tree):
    with pytest.raises(NotPermitted):
        acc.create_hr_agency(
            session,
            clock,
            actor_id=tree["ids"]["yb_office"],
            office_id=tree["office"].id,
            name="江津区人才中心",
            admin_username="jj_agency",
            admin_password=PW,
        )
    agency = acc.create_hr_agency(
        session,
        clock,
        actor_id=tree["ids"]["jj_office"],
        office_id=tree["office"].id,
        name="江津区人才中心",
        admin_username="jj_agency",
        admin_password=PW,
    )
    assert (agency.type, agency.status, agency.district) == ("hr_agency", "active", "江津区")
    admin = acc.authenticate(session, clock, "jj_agency", PW)
    assert admin.roles_in(agency.id) == {"admin"}


def test_add_reviewer_invites_existing_accounts_and_creates_new_ones(session, clock, tree):
    p = person(session, clock)
    office_id, admin = tree["office"].id, tree["ids"]["jj_office"]
    with pytest.raises(NotPermitted):
        acc.add_reviewer(session, clock, actor_id=p.id, org_id=office_id, role="reviewer", username=ID_A)
    added = acc.add_reviewer(session, clock, actor_id=admin, org_id=office_id, role="reviewer", username=ID_A)
    assert added.invited
    assert acc.user_profile(session, p.id).roles_in(office_id) == set()  # not without the person's consent
    with pytest.raises(FormInvalid):
        acc.add_reviewer(session, clock, actor_id=admin, org_id=office_id, role="desk", username="newbie")
    new = acc.add_reviewer(
        session,
        clock,
        actor_id=admin,
        org_id=office_id,
        role="desk",
        username="newbie",
        real_name="小李",
        password=PW,
    )
    assert not new.invited
    assert acc.user_profile(session, new.user_id).roles_in(office_id) == {"desk"}
    assert {m[1] for m in acc.list_members(session, office_id)} == {"jj_office", "newbie"}


def test_orgs_visible_to_subtree_and_operator(session, clock, tree):
    ids = {o.id for o in acc.orgs_visible_to(session, tree["ids"]["jj_office"])}
    assert ids == {tree["office"].id}
    op = acc.create_staff_user(
        session, clock, username="operator", real_name="运维", password=PW, is_operator=True
    )
    assert len(acc.orgs_visible_to(session, op.id)) == 4
    assert len(acc.orgs_visible_to(session, tree["ids"]["committee"])) == 4
    assert [d for d, _ in acc.org_tree(session)] == [0, 1, 1, 1]


def test_preset_by_non_operator_refused(session, clock, tree):
    with pytest.raises(NotPermitted):
        acc.create_preset_org(
            session,
            clock,
            org_type="committee",
            name="x",
            admin_username="x",
            admin_password=PW,
            actor_id=tree["ids"]["jj_office"],
        )
