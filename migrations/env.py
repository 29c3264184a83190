"""Alembic environment: applies migrations/versions to the database of the Flask app (`zhicheng db upgrade`)
or to a connection handed in by a caller (tests comparing the migrated schema with the models).

Only Flask-Migrate's own extension record is read from the app (its `db.engine` and configure args): the
Flask-SQLAlchemy 2.x `get_engine()` API that the stock template fell back to is gone in 3.2.
"""

import logging
from logging.config import fileConfig

from alembic import context

# Every table is on engine.db.Base: import the modules defining them so autogenerate sees them all.
import engine.accounts.models  # noqa: F401
import engine.audit.tables  # noqa: F401
import engine.reminders.tables  # noqa: F401
import engine.store.tables  # noqa: F401
from engine.db import Base

config = context.config
if config.config_file_name and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """UTCDateTime stores naive UTC in a plain DateTime: migrations need not import engine code."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime()"
    return False


def _skip_empty_autogenerate(context_, revision, directives):
    """`flask db migrate` with no schema change writes no empty revision."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def _flask_migrate():
    from flask import current_app

    return current_app.extensions["migrate"]


def run_migrations_offline():
    """`--sql`: emit the SQL for the app's database URL without connecting."""
    url = _flask_migrate().db.engine.url
    context.configure(
        url=url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection, **conf_args):
    conf_args.setdefault("render_as_batch", True)  # SQLite alters tables by copying them
    conf_args.setdefault("render_item", render_item)
    context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    migrate = _flask_migrate()
    conf_args = dict(migrate.configure_args)
    conf_args.setdefault("process_revision_directives", _skip_empty_autogenerate)
    with migrate.db.engine.connect() as connection:
        _run_on(connection, **conf_args)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
