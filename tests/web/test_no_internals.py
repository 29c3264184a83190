"""Nothing internal shows: crawl every page of a finished campaign as each role and read what a person reads.

A simulated 2020 campaign (returns at each tier, lapses, not recommended, onsite no-shows) is run to its end;
then every same-site link reachable from each role's start pages is fetched and its visible text checked for
content hashes, English decisions, BPMN ids and Python reprs. Auditors' chain hashes and deployment ids are
marked `data-audit-hash` on purpose (they are what an auditor verifies) and are the only exemption.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from urllib.parse import urldefrag, urlparse

import lxml.html
import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from engine.accounts.models import Membership, Org, User
from engine.clock import SimulatedClock
from engine.store import simulate as sim
from engine.store.tables import ApplicationRow
from webapp.extensions import db

SKIP = ("/auth/logout", "/export", ".csv", "/files/", ".svg", "/diagram/", "/static/")
MAX_PAGES_PER_ROLE = 120
ENGLISH_DECISIONS = re.compile(r"\b(approve|return|not_recommend|reject|confirm)\b")
PYTHON_REPR = re.compile(r"\{'|'\s*:\s*'|\bNone\b|\bTrue\b|\bFalse\b|datetime\.|object at 0x|\[\]")
HASH = re.compile(r"\b[0-9a-f]{12,}\b")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An app whose database holds a whole simulated campaign, its clock after the campaign's end."""
    from engine.db import Base
    from webapp import create_app

    tmp = tmp_path_factory.mktemp("crawl")
    clock = SimulatedClock(sim.END + timedelta(days=1))
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'crawl.sqlite'}",
            "UPLOAD_DIR": str(tmp / "uploads"),
            "ZHICHENG_CLOCK": clock,
        }
    )
    with app.app_context():
        Base.metadata.create_all(db.engine)
        report = sim.simulate(sessionmaker(bind=db.engine, expire_on_commit=False), applicants=40, seed=11)
        assert len(report.outcomes) >= 3, report.outcomes  # several endings to look at
        now = clock.now()
        for name, flags in (
            ("crawl-operator", {"is_operator": True}),
            ("crawl-auditor", {"is_auditor": True}),
        ):
            db.session.add(User(username=name, real_name=name, password_hash="!", created_at=now, **flags))
        db.session.commit()
    return app


def _bpmn_ids(app) -> set[str]:
    from engine.store import services

    with app.app_context():
        deployment = services.current_deployment(db.session)
        ids = set()
        for name, text in deployment.sources.items():
            if name.endswith(".bpmn"):
                ids |= set(re.findall(r'\bid="([A-Za-z][\w-]*_[\w-]*)"', text))
        return ids


def _visible_text(html: str) -> str:
    doc = lxml.html.fromstring(html)
    for el in doc.xpath("//script|//style|//*[@data-audit-hash]|//svg|//*[local-name()='svg']"):
        el.drop_tree()
    return doc.text_content()


def _people(app) -> dict[str, int]:
    """One person per role: applicants with each outcome, a unit admin, tier 2/3, committee, desk, operator, auditor."""
    with app.app_context():
        s = db.session
        people: dict[str, int] = {}
        for status in s.scalars(select(ApplicationRow.status).distinct()):
            people[f"applicant:{status}"] = s.scalar(
                select(ApplicationRow.applicant_id).where(ApplicationRow.status == status).limit(1)
            )
        for org_type in (
            "unit",
            "district_dept",
            "hr_agency",
            "district_hr_office",
            "municipal_dept",
            "committee",
        ):
            row = s.execute(
                select(Membership.user_id, Membership.role)
                .join(Org, Org.id == Membership.org_id)
                .join(ApplicationRow, ApplicationRow.unit_id == Org.id, isouter=True)
                .where(Org.type == org_type, Membership.role != "desk")
                .order_by(ApplicationRow.id.is_(None), Membership.id)
                .limit(1)
            ).first()
            if row:
                people[f"{org_type}:{row.role}"] = row.user_id
        people["desk"] = s.scalar(select(Membership.user_id).where(Membership.role == "desk"))
        people["operator"] = s.scalar(select(User.id).where(User.username == "crawl-operator"))
        people["auditor"] = s.scalar(select(User.id).where(User.username == "crawl-auditor"))
        return people


def _crawl(app, user_id: int) -> dict[str, str]:
    from engine.accounts.services import user_profile
    from webapp.auth.session_user import SESSION_VERSION_KEY

    with app.app_context():
        version = user_profile(db.session, user_id).session_version
    client = app.test_client()
    with client.session_transaction() as sess:  # logged in as the login view would (session version included)
        sess["_user_id"] = str(user_id)
        sess["_fresh"] = True
        sess[SESSION_VERSION_KEY] = version
    seen: dict[str, str] = {}
    queue = deque(["/", "/apply/", "/review/", "/audit/", "/admin/deploy", "/orgs/"])
    while queue and len(seen) < MAX_PAGES_PER_ROLE:
        path = queue.popleft()
        if path in seen or any(s in path for s in SKIP):
            continue
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        if response.status_code != 200 or "text/html" not in response.content_type:
            seen[path] = ""
            continue
        html = response.get_data(as_text=True)
        seen[path] = html
        for href in lxml.html.fromstring(html).xpath("//a/@href"):
            href, _ = urldefrag(href)
            parsed = urlparse(href)
            if href and not parsed.scheme and not parsed.netloc and href.startswith("/") and href not in seen:
                queue.append(href)
    return seen


def test_no_page_shows_a_hash_an_english_decision_a_bpmn_id_or_a_python_repr(finished):
    ids = _bpmn_ids(finished)
    assert {"unit_review", "applicant_submit"} <= ids
    id_pattern = re.compile(
        r"(?<![\w-])(" + "|".join(sorted(map(re.escape, ids), key=len, reverse=True)) + r")(?![\w-])"
    )
    people = _people(finished)
    assert any(k.startswith("applicant:") for k in people) and "auditor" in people
    problems, pages, seen_kinds, reached = [], 0, set(), set()
    for role, user_id in people.items():
        for path, html in _crawl(finished, user_id).items():
            reached.add(re.sub(r"/\d+", "/N", path))
            if not html:
                continue
            pages += 1
            text = _visible_text(html)
            for kind, pattern in (
                ("hash", HASH),
                ("English decision", ENGLISH_DECISIONS),
                ("BPMN id", id_pattern),
                ("Python repr", PYTHON_REPR),
            ):
                found = pattern.search(text)
                if found and (kind, found.group(0), path.split("/")[1]) not in seen_kinds:
                    seen_kinds.add((kind, found.group(0), path.split("/")[1]))
                    start = max(found.start() - 30, 0)
                    problems.append(
                        f"{role} {path}: {kind} {found.group(0)!r} in …{text[start : found.end() + 30]!r}…"
                    )
    # the crawl reached the applicant's, the reviewers', the prints' and the auditors' pages
    for page in (
        "/apply/N",
        "/review/N/",
        "/review/N/app/N",
        "/apply/N/print/review_form",
        "/audit/applications/N",
    ):
        assert page in reached, sorted(reached)
    assert pages > 30
    assert problems == [], "\n".join(problems[:40])
