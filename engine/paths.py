"""Where the shipped process definitions and migrations live, in a checkout and in an installed wheel.

In a checkout they are `bpmn/` and `migrations/` at the top of the repository. The wheel has no
repository, so setup.py copies both into `engine/_shipped/`, which is used when present (it never is in a
checkout; an editable install reads the files being edited). Policy staff point ZHICHENG_BPMN_DIR (or
`--bpmn-dir`) at their own folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent  # a checkout; in site-packages this folder holds no bpmn/ or migrations/
_SHIPPED = PACKAGE_DIR / "_shipped"


def shipped_dir(name: str) -> Path:
    """The shipped folder `name` ("bpmn" or "migrations"): the installed copy, else the checkout's."""
    for root in (_SHIPPED, REPO_ROOT):
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"{name}/ is neither in {REPO_ROOT} nor in {_SHIPPED}: a broken installation")


def bpmn_dir() -> Path:
    """The folder of BPMN diagrams, forms, campaigns and scenarios (ZHICHENG_BPMN_DIR overrides)."""
    override = os.environ.get("ZHICHENG_BPMN_DIR")
    return Path(override) if override else shipped_dir("bpmn")


def migrations_dir() -> Path:
    """The Alembic folder applied by `zhicheng db upgrade`."""
    return shipped_dir("migrations")
