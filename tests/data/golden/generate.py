"""Freeze the shipped scenarios' histories as golden files (run ONCE, with the engine they must keep meaning).

    .venv/bin/python tests/data/golden/generate.py

Each `<scenario>.<application>.json` names its deployment (sources pinned once under `deployments/`), the recorded events,
the serialized workflow state after the last event and the status shown then. `tests/unit/test_golden.py`
replays every file with today's engine and requires the same state and status. Never regenerate a file to
make that test pass: a difference means a change altered how an old application is interpreted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from engine.paths import bpmn_dir  # noqa: E402
from engine.scenario import ScenarioRunner  # noqa: E402

HERE = Path(__file__).resolve().parent


def _instant(value):
    return value.isoformat() if value is not None else None


def main() -> None:
    for path in sorted((bpmn_dir() / "scenarios").glob("*.yaml")):
        runner = ScenarioRunner(path)
        result = runner.run()
        if not result.ok:
            raise SystemExit(f"{path.name} does not pass; golden files are made from passing scenarios only")
        dep = runner.deployment
        sources = HERE / "deployments" / f"{dep.id[:16]}.json"
        sources.parent.mkdir(exist_ok=True)
        sources.write_text(
            json.dumps({"id": dep.id, "sources": dep.sources}, ensure_ascii=False, indent=1) + "\n"
        )
        for name, app in runner.apps.items():
            status = app.status()
            doc = {
                "format": "zhicheng-golden/1",
                "scenario": path.name,
                "application": name,
                "deployment": runner.deployment.id,
                "events": [
                    {
                        "seq": e.seq,
                        "at": e.at.isoformat(),
                        "actor_id": e.actor_id,
                        "org_id": e.org_id,
                        "event_type": e.event_type,
                        "stage": e.stage,
                        "data": e.data,
                    }
                    for e in runner.events[name]
                ],
                "state": app.to_json(),
                "status": {
                    "status": status.status,
                    "stage": status.stage,
                    "waiting_org": status.waiting_org,
                    "deadline": _instant(status.deadline),
                    "actionable_from": _instant(status.actionable_from),
                    "responsible_org": status.responsible_org,
                },
                "ready": sorted(
                    [t.stage, t.org_id, _instant(t.deadline), _instant(t.actionable_from)]
                    for t in app.ready_tasks()
                ),
            }
            target = HERE / f"{path.stem}.{name}.json"
            target.write_text(json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
            print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
