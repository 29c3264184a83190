"""The golden histories under tests/data/golden: their files, pinned deployments and recorded events."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path

from engine.deployment import build_deployment, content_hash
from engine.events import RecordedEvent

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
FILES = sorted(GOLDEN.glob("*.json"))


@cache
def deployment(dep_id: str):
    """The deployment a golden history was recorded on, rebuilt from its stored sources."""
    doc = json.loads((GOLDEN / "deployments" / f"{dep_id[:16]}.json").read_text(encoding="utf-8"))
    assert content_hash(doc["sources"]) == dep_id, "golden sources were edited"
    return build_deployment(doc["sources"])


def events(doc: dict) -> list[RecordedEvent]:
    """A golden document's events as replay takes them."""
    return [
        RecordedEvent(
            e["seq"],
            datetime.fromisoformat(e["at"]),
            e["actor_id"],
            e["org_id"],
            e["event_type"],
            e["stage"],
            e["data"],
        )
        for e in doc["events"]
    ]
