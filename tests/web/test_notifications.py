"""The notification centre: the bell's unread count on every page, the list, marking as read, scoping."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker
from workflow_fixtures import page_token

from engine.reminders.sweep import sweep
from webapp.extensions import db


def _remind(wf):
    with wf.app.app_context():
        return sweep(sessionmaker(bind=db.engine), wf.clock)


def test_bell_counts_reminders_and_marking_read_clears_them(wf):
    app_id = wf.start("applicant")
    assert len(_remind(wf).reminded) == 1  # 11-18 is 3 working days before 11-23
    applicant = wf.client("applicant")
    home = applicant.get("/").get_data(as_text=True)
    assert 'data-unread="1"' in home
    page = applicant.get("/notifications/").get_data(as_text=True)
    assert "申报人填报" in page and "11月23日截止" in page and f"编号 {app_id}" in page
    # Another person sees neither the count nor the message, and cannot mark it read.
    other = wf.client("applicant2")
    assert 'data-unread="' not in other.get("/").get_data(as_text=True)
    assert "申报人填报" not in other.get("/notifications/").get_data(as_text=True)
    token = page_token(page)
    assert (
        other.post(
            "/notifications/1/read",
            data={"csrf_token": page_token(other.get("/notifications/").get_data(as_text=True))},
        ).status_code
        == 404
    )
    assert applicant.post("/notifications/read-all", data={"csrf_token": token}).status_code == 302
    assert 'data-unread="' not in applicant.get("/").get_data(as_text=True)


def test_marking_read_needs_the_csrf_token(wf):
    wf.start("applicant")
    _remind(wf)
    applicant = wf.client("applicant")
    assert applicant.post("/notifications/read-all", data={}).status_code == 400
    assert 'data-unread="1"' in applicant.get("/").get_data(as_text=True)


def test_notification_centre_needs_a_login(wf):
    anonymous = wf.app.test_client()
    assert anonymous.get("/notifications/").status_code == 302
