"""What the timer worker calls after each tick: claim due reminders, then deliver queued ones."""

from __future__ import annotations

from dataclasses import dataclass

from engine.clock import Clock

from .delivery import DeliveryReport, deliver
from .sweep import SweepReport, sweep


@dataclass
class RemindReport:
    swept: SweepReport
    delivered: DeliveryReport


def remind(session_factory, clock: Clock, senders: dict) -> RemindReport:
    """One reminder round on the engine clock: channels without a sender get no outbox rows."""
    swept = sweep(session_factory, clock, channels=tuple(senders))
    return RemindReport(swept, deliver(session_factory, clock, senders))
