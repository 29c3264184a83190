"""Account errors. All are ActionRefused, so the web maps them in one place."""

from __future__ import annotations

from datetime import datetime

from engine.errors import ActionRefused


class LoginFailed(ActionRefused):
    """Unknown username or wrong password: one message for both, so it never tells which accounts exist."""


class LoginThrottled(ActionRefused):
    """Too many recent failures from this address or for this account; carries `until` (aware UTC)."""

    def __init__(self, message: str, *, until: datetime):
        super().__init__(message, until=until)
        self.until = until


class ChainIncomplete(ActionRefused):
    """A unit's ancestor chain does not reach an active committee through the tiers DESIGN.md §2 lists."""
