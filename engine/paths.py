"""Where the shipped policy data lives (overridable for policy staff working on a copy)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def bpmn_dir() -> Path:
    """The folder of BPMN diagrams, forms, campaigns and scenarios."""
    return Path(os.environ.get("ZHICHENG_BPMN_DIR", REPO_ROOT / "bpmn"))
