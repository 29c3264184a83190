"""One unit of work per action: commit explicitly, roll back on any other way out; its statements are
`engine.statements.Prepared`, compiled once and run on the unit of work's own database connection.

The store's functions take a database handle `db`: an ORM `Session` (web requests) or a Core `Connection`
(the timer worker, simulate, benchmarks). Both commit and roll back the same way; a Connection skips the
Session's transaction bookkeeping, which cost more than an action's SQL on SQLite (README in this folder).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from engine.statements import Prepared  # noqa: F401 -- re-exported: the store's modules take it from here


class UnitOfWork:
    """`with UnitOfWork(db) as uow: ...; uow.commit()` — leaving without commit() rolls back.

    Everything an action writes (state, application row, work items, due timers, history) goes through one
    of these, so a failure anywhere leaves nothing half-written. `db` is a Session or a Connection.
    """

    def __init__(self, session: Session | Connection):
        self.session = session
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        self.committed = False
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.committed:
            self.session.rollback()

    def commit(self) -> None:
        self.session.commit()
        self.committed = True

    def rollback(self) -> None:
        self.session.rollback()


def connections(session_factory):
    """A factory of Core connections on the database of `session_factory` (a sessionmaker bound to an
    Engine), for loops of units of work that need no ORM: `with connections(f)() as conn: ...`. Falls back
    to the session factory itself when it is not bound to an Engine (Flask-SQLAlchemy binds per request)."""
    bind = getattr(session_factory, "kw", {}).get("bind")
    if isinstance(bind, Engine):
        return bind.connect
    return session_factory
