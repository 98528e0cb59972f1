"""One read session for everything a call reads in this process.

An open API call reads the platform's tables and, through the in-process adapter, the brokerage
core's: each in a read session of its own would cost a pool checkout, a BEGIN and a ROLLBACK per
account. Inside `shared_reading(database)` every `reading(database)` on the same thread of control
reuses the one session opened there (a context variable, so threads never share it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from backbone.kit.db import Database, DriverStatement, is_read_only
from backbone.open_platform.models import RevisionRow

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
KEPT_MAX = 100_000
_REVISIONS = cast(Table, RevisionRow.__table__)
# On the driver: every open API call reads it.
_REVISION = DriverStatement(select(_REVISIONS.c.revision).where(_REVISIONS.c.id == 1))
_REVISION_SEEN = "platform_revision"

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


def platform_revision(session: Session) -> int:
    """The platform's revision (migration 0006) as this read session sees it: read once."""
    seen = session.info.get(_REVISION_SEEN)
    if seen is None:
        ((seen,),) = _REVISION.rows(session)
        session.info[_REVISION_SEEN] = seen
    return int(seen)


class Kept(Generic[K, V]):
    """Answers of reads of the platform's own tables, kept while the platform's revision stands.

    Every change to those tables raises the revision in its own transaction (database triggers),
    so an answer read at the current revision is the answer the tables would give now. The
    revision is read before the tables: under READ COMMITTED a commit in between leaves a newer
    answer under an older revision (read again next time), never the reverse. Only read-only
    sessions use what is kept: a transaction's own writes move the revision it sees."""

    def __init__(self, entries_max: int = KEPT_MAX) -> None:
        self._entries_max = entries_max
        self._kept: dict[K, tuple[int, V]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, key: K, read: Callable[[], V]) -> V:
        if not is_read_only(session):
            return read()
        revision = platform_revision(session)
        found = self._kept.get(key)
        if found is not None and found[0] == revision:
            return found[1]
        value = read()
        with self._lock:
            if len(self._kept) >= self._entries_max:
                self._kept.clear()  # a bound on memory; forgetting only costs a read
            self._kept[key] = (revision, value)
        return value
