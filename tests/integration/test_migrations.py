"""Upgrade safety: the Alembic chain builds exactly the schema the models declare (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import engine.accounts.models  # noqa: F401 - every table on Base
import engine.store.tables  # noqa: F401
from engine.db import Base, make_engine
from engine.paths import migrations_dir


def _config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["connection"] = connection  # env.py runs on it, without a Flask app
    return cfg


def test_migrations_build_exactly_the_models_schema(database_url):
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), "head")
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            diff = compare_metadata(context, Base.metadata)
            assert diff == [], "migrations and models differ; add a migration:\n" + "\n".join(map(str, diff))
            heads = set(ScriptDirectory(str(migrations_dir())).get_heads())
            assert set(context.get_current_heads()) == heads
    finally:
        engine.dispose()


def test_the_chain_is_linear():
    script = ScriptDirectory(str(migrations_dir()))
    assert len(script.get_heads()) == 1, "two Alembic heads: re-point the newer revision's down_revision"
    assert len(script.get_bases()) == 1
