"""One recorded history event, as the store keeps it, a bundle carries it and replay reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RecordedEvent:
    seq: int
    at: datetime  # engine-clock time
    actor_id: int | None
    org_id: int | None
    event_type: str  # started | completed | timer_fired
    stage: str | None
    data: dict
    hash: str = ""  # empty for events not (yet) stored, e.g. in a scenario run
