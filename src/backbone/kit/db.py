"""The database: one declarative base, an engine factory for SQLite and PostgreSQL, and the
transaction boundary.

No engine exists at import time; `bootstrap` creates one from settings. Services receive a
`Session` and never commit; `Database.transaction()` at the request or job boundary does.

SQLite is configured for a server's work, not a script's: WAL, foreign keys on, a busy timeout,
and `BEGIN IMMEDIATE` for every transaction so two writers queue instead of failing to upgrade
a read lock halfway through.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Label,
    MetaData,
    Row,
    Table,
    TypeDecorator,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_SNAPSHOT = "backbone.db.snapshot"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "backbone_read_only"
POOL_SIZE_DEFAULT = 40  # the web server's thread limit (anyio's default): one connection each
POOL_OVERFLOW = 10


class UtcDateTime(TypeDecorator[datetime]):
    """Instants stored in UTC and read back timezone-aware on every engine (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {int: BigInteger, datetime: UtcDateTime}  # noqa: RUF012 - SQLAlchemy's own hook


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    pool_size: int = POOL_SIZE_DEFAULT,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> Engine:
    """Connections are kept for as many request threads as the server runs (a connection opened
    and closed per request costs more than the request's own queries)."""
    if is_sqlite(url):
        return _make_sqlite_engine(url, sqlite_synchronous, pool_size, sqlite_busy_timeout_ms)
    return create_engine(url, pool_size=pool_size, max_overflow=POOL_OVERFLOW, pool_pre_ping=True)


def _make_sqlite_engine(url: str, synchronous: str, pool_size: int, busy_timeout_ms: int) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None hands transaction control to us, so we can say BEGIN IMMEDIATE.
    engine = create_engine(
        url,
        connect_args={"isolation_level": None, "check_same_thread": False},
        pool_size=pool_size,
        max_overflow=POOL_OVERFLOW,
    )

    @event.listens_for(engine, "connect")
    def _configure(connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Readers take no write lock: WAL lets them run beside the one writer.
        # Said to the driver itself: through `exec_driver_sql` the BEGIN cost five times more
        # than through the driver, and every read session pays it.
        reading = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.connection.dbapi_connection.execute("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


# A record from `TableRecords.split`: one table's columns as attributes, like its mapped row.
TableRecord = Any


class TableRecords:
    """Several tables' columns read by one Core statement, split back into one record per table.

    A record has the table's column names as attributes, so the functions that turn a mapped
    row into a domain object take it as well. On the open API's hot path a Core statement of
    joined tables cost a fifth of the same ORM query (no identity map, no instrumented objects).
    """

    def __init__(self, *tables: Table) -> None:
        self.columns: list[Label[Any]] = []
        self._records: list[tuple[Any, int, int, int]] = []
        for table in tables:
            start = len(self.columns)
            names = [column.key for column in table.columns]
            self.columns += [column.label(f"{table.name}__{column.key}") for column in table.columns]
            key = names.index(next(iter(table.primary_key.columns)).key)
            self._records.append((namedtuple(f"{table.name}_record", names), start, len(self.columns), key))

    def split(self, row: Row[Any] | Sequence[Any]) -> list[Any]:
        """One record per table; None for a table an outer join found nothing in."""
        values = tuple(row)
        return [
            None if values[start + key] is None else record._make(values[start:end])
            for record, start, end, key in self._records
        ]


class DriverStatement:
    """A Core statement compiled once per dialect and run on the driver's cursor; rows come back
    as the driver gives them (no type processing). Parameters are named, as in the statement's
    `bindparam`s.

    For the few statements on the open API's hottest path only: SQLAlchemy's execution (cache
    lookup, events, parameter and result processing) cost about 65 µs a statement there, where
    the driver takes 5-40 µs. In a read session that has not begun a transaction of its own the
    statement runs in the session's snapshot (see `Database.reading`), so a call whose answers
    are all kept never pays for an ORM transaction."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, dict[str, Any], tuple[str, ...] | None]] = {}

    def rows(self, session: Session, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        driver, dialect = _driver_connection(session)
        sql, defaults, order = self._compiled_for(dialect)
        values = defaults if not parameters else {**defaults, **parameters}
        cursor = driver.cursor()
        try:
            cursor.execute(sql, values if order is None else tuple(values[name] for name in order))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _compiled_for(self, dialect: Dialect) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
            order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
            found = self._compiled[dialect.name] = (str(compiled), dict(compiled.params), order)
        return found


def _driver_connection(session: Session) -> tuple[Any, Dialect]:
    if session.in_transaction() or not is_read_only(session):
        connection = session.connection()
        return connection.connection.dbapi_connection, connection.dialect
    snapshot = session.info.get(_SNAPSHOT)
    if snapshot is None:
        snapshot = session.info[_SNAPSHOT] = _begin_snapshot(session.get_bind())
    return snapshot


def _begin_snapshot(bind: Engine | Connection) -> tuple[Any, Dialect]:
    engine = bind if isinstance(bind, Engine) else bind.engine
    pooled = engine.raw_connection()
    if engine.dialect.name == "sqlite":
        # isolation_level=None: we begin, deferred (a reader); sqlite3's own shortcut, cheapest.
        cast(Any, pooled.dbapi_connection).execute("BEGIN")
    # PostgreSQL's driver begins by itself with the first statement.
    return pooled, engine.dialect


def _end_snapshot(session: Session, *_: object) -> None:
    """Returns the snapshot's connection to the pool, whose reset on return rolls it back. Also
    called as the session begins a transaction of its own, so that one call never holds two
    connections (a pool sized to the server's threads would run dry)."""
    snapshot = session.info.pop(_SNAPSHOT, None)
    if snapshot is not None:
        snapshot[0].close()


def begin_reading(session: Session) -> None:
    """Begins the read session's own transaction now: from here on every read, the driver's
    too, sees the moment it begins."""
    session.connection()


def is_read_only(session: Session) -> bool:
    """True for a session from `Database.reading()`: it sees only what others committed."""
    return bool(session.get_bind().get_execution_options().get(READ_ONLY_OPTION, False))


def writers_are_serialised(session: Session) -> bool:
    """True on SQLite, where BEGIN IMMEDIATE admits one writing transaction at a time, so no
    concurrent twin can race a write; PostgreSQL runs writers side by side."""
    return session.get_bind().dialect.name == "sqlite"


class Database:
    """The engine and its sessions; the only place that commits."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False, autoflush=False
        )
        event.listen(self._readers, "after_transaction_create", _end_snapshot)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """For reads only: rolled back at the end, so nothing can be written by mistake.

        Its first read through a `DriverStatement` opens a snapshot on a pooled connection of
        its own, without an ORM transaction (whose begin and end cost more than the open API's
        kept answers); the session's first ORM read ends that snapshot and begins the session's
        transaction, which sees the same moment or a later one."""
        with self._readers() as session:
            try:
                yield session
            finally:
                session.rollback()
                _end_snapshot(session)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


# What a retry may cure: the database busy, locked, restarting or out of reach, or the disk full.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
    OSError,
)


def is_transient(error: BaseException) -> bool:
    """Whether a failed unit of work may succeed if tried again unchanged."""
    return isinstance(error, TRANSIENT_ERRORS)
