"""One unit of work per action: commit explicitly, roll back on any other way out."""

from __future__ import annotations

from sqlalchemy.orm import Session


class UnitOfWork:
    """`with UnitOfWork(session) as uow: ...; uow.commit()` — leaving without commit() rolls back.

    Everything an action writes (state, application row, work items, due timers, history) goes through one
    of these, so a failure anywhere leaves nothing half-written.
    """

    def __init__(self, session: Session):
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
