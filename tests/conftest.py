"""Shared fixtures. Database-backed tests run on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_URL = os.environ.get("ZHICHENG_TEST_POSTGRES_URL")


def _postgres_param():
    reason = (
        "PostgreSQL tests skipped: set ZHICHENG_TEST_POSTGRES_URL "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it"
    )
    return pytest.param(
        "postgres", marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=reason)]
    )


@pytest.fixture(params=["sqlite", _postgres_param()])
def database_url(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, or a private schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
