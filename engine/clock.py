"""The engine clock. `SystemClock.now` is the only place in zhicheng that reads the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current instant as an aware UTC datetime."""


class SystemClock:
    """Real time, for production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that never moves: for tests that need one instant."""

    def __init__(self, instant: datetime):
        self._instant = _aware(instant)

    def now(self) -> datetime:
        return self._instant


class SimulatedClock:
    """A clock moved by hand: scenarios, replay, simulation and the sandbox."""

    def __init__(self, start: datetime):
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        instant = _aware(instant)
        if instant < self._now:
            raise ValueError(
                f"the simulated clock cannot go back from {self._now.isoformat()} to {instant.isoformat()}"
            )
        self._now = instant

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"clock instants must be timezone-aware, got {instant!r}")
    return instant.astimezone(UTC)
