"""Reminder e-mail over SMTP, delivered to a real local SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import email
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from engine.accounts.models import User
from engine.reminders import delivery
from engine.reminders.senders import DeliveryFailed, SmtpMailer, SmtpSettings, senders_from_env
from engine.reminders.sweep import sweep
from engine.reminders.tables import Outbox
from engine.store import services


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=default_policy))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.hostname, controller.port, handler
    finally:
        controller.stop()


def test_reminder_email_reaches_the_smtp_server(session_factory, clock, world, smtp_server):
    host, port, handler = smtp_server
    with session_factory() as session:
        session.execute(update(User).where(User.id == world.users["alice"]).values(email="alice@example.org"))
        session.commit()
        services.start_application(session, clock, world.users["alice"], world.orgs["unit_a"])
    senders = senders_from_env(
        {
            "ZHICHENG_SMTP_HOST": host,
            "ZHICHENG_SMTP_PORT": str(port),
            "ZHICHENG_SMTP_FROM": "noreply@zc.example",
        }
    )
    sweep(session_factory, clock, channels=tuple(senders))
    report = delivery.deliver(session_factory, clock, senders)
    assert report.sent == 1
    ((rcpt, msg),) = handler.messages
    assert rcpt == ["alice@example.org"]
    assert "申报人填报" in msg["Subject"] and "11月23日截止" in msg["Subject"]
    assert "逾期未办理" in msg.get_content()
    with session_factory() as session:
        assert session.scalar(select(Outbox.status).where(Outbox.channel == "email")) == "sent"
    assert delivery.deliver(session_factory, clock, senders).sent == 0  # never twice


def test_smtp_server_down_is_a_failed_delivery_not_a_crash(session_factory, clock, world, smtp_server):
    host, port, handler = smtp_server
    mailer = SmtpMailer(SmtpSettings(host=host, port=1, timeout=2))  # nothing listens on port 1
    with pytest.raises(DeliveryFailed):
        mailer.send("alice@example.org", "主题", "正文")
    assert handler.messages == []
