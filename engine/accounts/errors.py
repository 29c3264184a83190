"""Account errors. All are ActionRefused, so the web maps them in one place."""

from __future__ import annotations

from datetime import datetime

from engine.errors import ActionRefused


class LoginFailed(ActionRefused):
    """Unknown username or wrong password; says how many attempts remain before the lock."""


class AccountLocked(ActionRefused):
    """Too many failed logins; carries `until` (aware UTC) and says when the account unlocks."""

    def __init__(self, message: str, *, until: datetime):
        super().__init__(message, until=until)
        self.until = until


class ChainIncomplete(ActionRefused):
    """A unit's ancestor chain does not reach an active committee through the tiers DESIGN.md §2 lists."""
