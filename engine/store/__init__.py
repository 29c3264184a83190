"""Persistence of applications: tables, one unit of work per action, work indexes, hash-chained history,
timer sweeps and the campaign simulator. Use cases live in `services`; nothing here imports Flask."""

# Reminder tables reference application rows: registering them with the store's metadata keeps
# `create_all` and Alembic's autogenerate complete wherever the store is used.
from engine.reminders import tables as _reminder_tables  # noqa: E402,F401
