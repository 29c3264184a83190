"""The demo's simulated engine clock, kept in one database row so the web and worker processes share it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.clock import _aware
from engine.errors import ActionRefused

from .tables import SandboxClockRow


class DbSandboxClock:
    """A Clock whose now() is the `sandbox_clock` row; set() moves it forward only."""

    def __init__(self, session_factory, start: datetime | None = None):
        self.session_factory = session_factory
        self.start = _aware(start) if start else None

    def now(self) -> datetime:
        with self.session_factory() as session:
            value = session.scalar(select(SandboxClockRow.now).where(SandboxClockRow.id == 1))
        if value is None:
            if self.start is None:
                raise ActionRefused("沙盒时钟尚未设置：请先设置模拟时间")
            return self.start
        return value

    def set(self, instant: datetime) -> None:
        """Move the shared clock to `instant`. Raises ActionRefused when that would go back in time."""
        instant = _aware(instant)
        with self.session_factory() as session, session.begin():
            row = session.get(SandboxClockRow, 1, with_for_update=True)
            if row is None:
                session.add(SandboxClockRow(id=1, now=instant))
            elif instant < row.now:
                raise ActionRefused(
                    f"模拟时钟不能倒退：当前为 {row.now.isoformat()}，不能设为 {instant.isoformat()}"
                )
            else:
                row.now = instant
