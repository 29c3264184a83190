"""Fixtures for the store tests: a migrated-by-metadata database, a deployed process and a small org tree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import sessionmaker

from calendars import TZ
from engine.accounts.models import Membership, Org, User
from engine.clock import SimulatedClock
from engine.db import Base, make_engine
from engine.deployment import read_sources
from engine.store import services

DECLARATION = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "bpmn/scenarios/data/declaration.yaml").read_text(encoding="utf-8")
)
APPROVE = {"decision": "approve", "opinion": "经审核符合申报条件，同意推荐。"}
CONFIRM = {
    "decision": "approve",
    "review_form_copies": 2,
    "notice_form_copies": 15,
    "fee_paid": True,
    "receipt_number": "CQ2020-0001",
}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2020, month, day, hour, tzinfo=TZ)


@dataclass
class World:
    """Org and user ids of the test tree (names as in bpmn/scenarios/straight_path.yaml)."""

    orgs: dict[str, int]
    users: dict[str, int]


def build_world(session, clock) -> World:
    """committee ← hr ← dept ← unit_a, unit_b; committee ← city_dept ← unit_c (no tier 2)."""
    now = clock.now()
    spec = [
        ("committee", "committee", None),
        ("hr", "district_hr_office", "committee"),
        ("dept", "district_dept", "hr"),
        ("unit_a", "unit", "dept"),
        ("unit_b", "unit", "dept"),
        ("city_dept", "municipal_dept", "committee"),
        ("unit_c", "unit", "city_dept"),
    ]
    orgs: dict[str, int] = {}
    for key, org_type, parent in spec:
        org = Org(
            type=org_type,
            name=f"测试{key}",
            parent_id=orgs.get(parent),
            status="active",
            contact_person=f"{key}联系人",
            contact_phone="023-12345678",
            created_at=now,
        )
        session.add(org)
        session.flush()
        orgs[key] = org.id
    people = {
        "alice": None,
        "bob": None,
        "carol": None,
        "unit_a_admin": ("unit_a", "admin"),
        "unit_b_admin": ("unit_b", "admin"),
        "unit_a_reviewer": ("unit_a", "reviewer"),
        "dept_reviewer": ("dept", "reviewer"),
        "hr_reviewer": ("hr", "reviewer"),
        "city_reviewer": ("city_dept", "reviewer"),
        "committee_staff": ("committee", "reviewer"),
        "desk": ("committee", "desk"),
        "operator": None,
        "auditor": None,
    }
    users: dict[str, int] = {}
    for name, member in people.items():
        user = User(
            username=name,
            real_name=name,
            password_hash="!",
            created_at=now,
            is_operator=name == "operator",
            is_auditor=name == "auditor",
        )
        session.add(user)
        session.flush()
        users[name] = user.id
        if member:
            session.add(Membership(user_id=user.id, org_id=orgs[member[0]], role=member[1]))
    session.commit()
    return World(orgs, users)


@pytest.fixture
def db_engine(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine):
    return sessionmaker(db_engine, expire_on_commit=False)


@pytest.fixture
def clock():
    return SimulatedClock(at(11, 17, 9))


@pytest.fixture
def world(session_factory, clock) -> World:
    with session_factory() as session:
        services.deploy(session, clock, read_sources())
        return build_world(session, clock)
