"""One read session for everything a call reads in this process.

An open API call reads the platform's tables and, through the in-process adapter, the brokerage
core's: each in a read session of its own would cost a pool checkout, a BEGIN and a ROLLBACK per
account. Inside `shared_reading(database)` every `reading(database)` on the same thread of control
reuses the one session opened there (a context variable, so threads never share it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy.orm import Session

from backbone.kit.db import Database

_shared: ContextVar[tuple[Database, Session] | None] = ContextVar("platform_shared_reading", default=None)


@contextmanager
def shared_reading(database: Database) -> Iterator[Session]:
    current = _shared.get()
    if current is not None and current[0] is database:
        yield current[1]
        return
    with database.reading() as session:
        token = _shared.set((database, session))
        try:
            yield session
        finally:
            _shared.reset(token)


@contextmanager
def reading(database: Database) -> Iterator[Session]:
    """The shared session when one is open for this database, else a read session of its own."""
    current = _shared.get()
    if current is not None and current[0] is database:
        yield current[1]
        return
    with database.reading() as session:
        yield session
