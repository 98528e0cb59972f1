"""Failed authentication attempts must outlive the refusal they cause.

Services never commit, and `Database.transaction()` rolls back when an error leaves the block, so
a wrong PIN would otherwise be forgotten together with its failure count. A service that records
an attempt marks the error it then raises (`recorded(error)`); `counting()` is the boundary for
such calls: it commits what was recorded and then raises the refusal. The service guarantees that,
when it raises a recorded error, the only changes in the unit of work are the attempt's records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from backbone.errors import BackboneError
from backbone.kit.db import Database

T = TypeVar("T")
E = TypeVar("E", bound=BackboneError)
RECORDED_FLAG = "attempt_recorded"


def recorded(error: E) -> E:
    setattr(error, RECORDED_FLAG, True)
    return error


def is_recorded(error: BaseException) -> bool:
    return bool(getattr(error, RECORDED_FLAG, False))


def counting(database: Database, work: Callable[[Session], T]) -> T:
    """Run `work` in one transaction; commit its records even when it refuses with a recorded error."""
    refusal: BackboneError | None = None
    with database.transaction() as session:
        try:
            return work(session)
        except BackboneError as error:
            if not is_recorded(error):
                raise
            refusal = error
    raise refusal
