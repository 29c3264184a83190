"""Statements compiled once per database dialect and run on the DBAPI cursor of a unit of work's connection:
the hot path's SQL without `Connection.execute`'s per-call work (engine/store/README.md, "How an action runs").
Shared by the store and the org tree's chain walk (engine.accounts.tiers), which every start runs.
"""

from __future__ import annotations

from collections import namedtuple

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class Prepared:
    """A Core statement compiled once per database dialect and run on the DBAPI cursor of the session's
    connection, inside the session's transaction.

    SQLAlchemy compiles the SQL and supplies each column type's bind and result conversion (UTC datetimes,
    booleans), exactly as `Connection.execute` would; what is skipped is the per-call work around them (cache
    key, execution context, result object), which cost two to three times the statement itself on SQLite.
    For the hot path only: `keys` fixes the columns of an INSERT (no implicit column defaults are applied);
    no expanding (IN-list) parameters; results are plain named tuples.
    """

    __slots__ = ("statement", "keys", "_by_dialect")

    def __init__(self, statement, keys: tuple[str, ...] | None = None):
        self.statement = statement
        self.keys = keys
        self._by_dialect: dict[str, tuple] = {}

    def _compiled(self, dialect) -> tuple:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(
                dialect=dialect, column_keys=list(self.keys) if self.keys is not None else None
            )
            binds = {}
            for bind, name in compiled.bind_names.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                default = None if bind.required else bind.effective_value
                binds[name] = (process, default)
            # (name, conversion, default) per parameter as the driver takes them: in order (a name may
            # occur twice) for a positional paramstyle, else once each
            names = compiled.positiontup if compiled.positional else binds
            plan = (compiled.positional, tuple((n, *binds[n]) for n in names))
            row_type = convert = None
            if getattr(self.statement, "is_select", False) or getattr(self.statement, "_returning", ()):
                columns = list(self.statement.exported_columns)
                row_type = namedtuple("Row", [c.key for c in columns], rename=True)
                convert = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
                if not any(convert):
                    convert = None
            found = self._by_dialect[dialect.name] = (compiled.string, plan, row_type, convert)
        return found

    @staticmethod
    def _params(plan: tuple, given: dict):
        positional, binds = plan  # one pass, no intermediate tuples: this runs for every statement
        get = given.get
        if positional:
            return [v if (v := get(n, d)) is None or p is None else p(v) for n, p, d in binds]
        return {n: v if (v := get(n, d)) is None or p is None else p(v) for n, p, d in binds}

    def _run(self, db, params):
        if isinstance(db, Connection):
            connection = db
            if not connection.in_transaction():  # begin as Connection.execute would, or commit() is a no-op
                connection.begin()
        else:
            connection = db.connection()
        compiled = self._compiled(connection.dialect)
        sql, plan = compiled[:2]
        cursor = connection.connection.driver_connection.cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(sql, [self._params(plan, p) for p in params])
            else:
                cursor.execute(sql, self._params(plan, params or {}))
        except Exception as exc:  # the DBAPI's own error, raised as SQLAlchemy would (IntegrityError, …)
            dialect = connection.dialect
            if not isinstance(exc, dialect.loaded_dbapi.Error):
                cursor.close()
                raise
            lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
            if lost:  # as Connection.execute does: the pool never hands this connection out again
                connection.invalidate(exc)
            else:
                cursor.close()
            raise DBAPIError.instance(
                sql, params, exc, dialect.loaded_dbapi.Error, dialect=dialect, connection_invalidated=lost
            ) from exc
        return cursor, compiled

    def rowcount(self, session: Session | Connection, params: dict | list[dict] | None = None) -> int:
        """Run a write (a list of parameter sets: executemany); the number of rows it matched."""
        cursor = self._run(session, params)[0]
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def all(self, session: Session | Connection, params: dict | None = None) -> list:
        """Run a query (or a write with RETURNING); its rows as named tuples."""
        cursor, compiled = self._run(session, params)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        row_type, convert = compiled[2:]
        if convert is None:
            return [row_type._make(r) for r in rows]
        return [
            row_type._make([v if f is None or v is None else f(v) for f, v in zip(convert, r, strict=True)])
            for r in rows
        ]

    def first(self, session: Session | Connection, params: dict | None = None):
        """The first row (a named tuple) or None."""
        rows = self.all(session, params)
        return rows[0] if rows else None

    def scalar(self, session: Session | Connection, params: dict | None = None):
        """The first column of the first row, or None."""
        row = self.first(session, params)
        return row[0] if row is not None else None
