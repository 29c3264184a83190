"""Channels that carry reminders out of the system: e-mail over SMTP (standard library) and a pluggable SMS
interface whose default only logs. Settings come from the environment mapping the caller passes in."""

from __future__ import annotations

import importlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

from engine.errors import ConfigError, ZhichengError

log = logging.getLogger("zhicheng.reminders")


class DeliveryFailed(ZhichengError):
    """A channel could not deliver a message (retried with backoff, then an incident)."""


class Sender(Protocol):
    def send(self, address: str, subject: str, body: str) -> None:
        """Deliver one message or raise DeliveryFailed."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    sender: str = "zhicheng@localhost"
    sender_name: str = "职称网上申报系统"
    security: str = "none"  # none | starttls | ssl
    timeout: float = 10.0


class SmtpMailer:
    """E-mail over SMTP with smtplib: one connection per message (reminders are few and spread out)."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def send(self, address: str, subject: str, body: str) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = formataddr((s.sender_name, s.sender))
        msg["To"] = address
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        msg.set_content(body)
        try:
            if s.security == "ssl":
                client = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"邮件发送失败（{s.host}:{s.port}）：{exc}", address=address) from exc


class LoggingSmsSender:
    """The default SMS channel: writes the message to the log. Replace it with a gateway's sender."""

    def send(self, address: str, subject: str, body: str) -> None:
        log.info("SMS to %s: %s", address, subject)


def smtp_settings(environ) -> SmtpSettings | None:
    """SMTP settings from ZHICHENG_SMTP_* variables; None when ZHICHENG_SMTP_HOST is unset. Raises ConfigError."""
    host = (environ.get("ZHICHENG_SMTP_HOST") or "").strip()
    if not host:
        return None
    security = (environ.get("ZHICHENG_SMTP_SECURITY") or "none").strip().lower()
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError(
            f"ZHICHENG_SMTP_SECURITY={security!r} 无效：应为 none、starttls 或 ssl",
            key="ZHICHENG_SMTP_SECURITY",
        )
    port_text = environ.get("ZHICHENG_SMTP_PORT") or ("465" if security == "ssl" else "25")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"ZHICHENG_SMTP_PORT={port_text!r} 不是端口号", key="ZHICHENG_SMTP_PORT") from None
    return SmtpSettings(
        host=host,
        port=port,
        username=environ.get("ZHICHENG_SMTP_USER") or None,
        password=environ.get("ZHICHENG_SMTP_PASSWORD") or None,
        sender=environ.get("ZHICHENG_SMTP_FROM") or "zhicheng@localhost",
        security=security,
    )


def sms_sender(environ) -> Sender:
    """ZHICHENG_SMS_SENDER=package.module:factory builds a gateway's sender; the default logs. Raises ConfigError."""
    spec = (environ.get("ZHICHENG_SMS_SENDER") or "").strip()
    if not spec:
        return LoggingSmsSender()
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr or "Sender")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"ZHICHENG_SMS_SENDER={spec!r} 无法加载（应为 模块:工厂函数）：{exc}", key="ZHICHENG_SMS_SENDER"
        ) from None
    return factory()


def senders_from_env(environ) -> dict[str, Sender]:
    """The outbound channels configured: e-mail only with an SMTP host, SMS always (logging by default)."""
    out: dict[str, Sender] = {"sms": sms_sender(environ)}
    settings = smtp_settings(environ)
    if settings is not None:
        out["email"] = SmtpMailer(settings)
    return out
