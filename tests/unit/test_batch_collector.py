"""A simulate worker tunes its garbage collector for a batch (engine.store.simulate.batch_collector); a
library caller's process is left alone. Each case runs in a fresh interpreter: the tuning is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
from engine.store import simulate
before = (gc.get_threshold(), gc.get_freeze_count())
if sys.argv[1] == "worker":
    simulate._worker_init(sys.argv[2], None)  # what each simulate worker runs first
print(json.dumps([before, (gc.get_threshold(), gc.get_freeze_count())]))
"""


def _probe(tmp_path, mode: str, **env) -> tuple:
    url = f"sqlite:///{tmp_path / 'gc.sqlite'}"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_simulate_worker_freezes_its_set_up_and_collects_less_often(tmp_path):
    from engine.store.simulate import BATCH_GC_THRESHOLD

    (threshold, frozen), (tuned, frozen_after) = _probe(tmp_path, "worker")
    assert threshold[0] == 700 and frozen == 0  # CPython's defaults before
    assert tuple(tuned) == BATCH_GC_THRESHOLD and frozen_after > 10_000  # the set-up's objects frozen


@pytest.mark.parametrize("mode, env", [("import", {}), ("worker", {"ZHICHENG_BATCH_GC": "0"})])
def test_importing_the_simulation_or_switching_the_tuning_off_keeps_the_defaults(tmp_path, mode, env):
    before, after = _probe(tmp_path, mode, **env)
    assert before == after and after[0][0] == 700 and after[1] == 0
