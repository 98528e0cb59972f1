"""FastAPI dependencies shared by every router, as `Annotated` aliases.

Routers never import the composition root (that would make every domain depend on every other);
each reads what it needs from `app.state.container`, which `create_app` sets, through a typed
dependency of its own built on `service()`.
"""

from __future__ import annotations

import hmac
from datetime import date, datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import Depends, Header, Request

from backbone.errors import IdempotencyKeyMissing, InvalidInput, Unauthorized
from backbone.kit.clock import Clock, seoul_midnight
from backbone.kit.db import Database

DATE_RANGE_DAYS_MAX = 366


def service(request: Request, name: str) -> Any:
    """One member of the application's container."""
    return getattr(request.app.state.container, name)


def _database(request: Request) -> Database:
    return cast(Database, service(request, "database"))


def _clock(request: Request) -> Clock:
    return cast(Clock, service(request, "clock"))


DatabaseDep = Annotated[Database, Depends(_database)]
ClockDep = Annotated[Clock, Depends(_clock)]


def _operator(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = str(service(request, "operator_token"))
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized(
            "the back-office API needs `Authorization: Bearer <operator token>`",
            headers={"WWW-Authenticate": 'Bearer realm="backoffice"'},
        )


OperatorDep = Annotated[None, Depends(_operator)]


def _idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(description="A unique key per intended operation; a retry with the same key is applied once"),
    ] = None,
) -> str:
    if not idempotency_key:
        raise IdempotencyKeyMissing("money-moving requests need an Idempotency-Key header")
    return idempotency_key


IdempotencyKeyDep = Annotated[str, Depends(_idempotency_key)]


class InvalidDateRange(InvalidInput):
    code = "backbone.invalid_date_range"
    title = "The date range is not valid"


def instant_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Korean calendar dates, both inclusive, as a half-open range of instants."""
    if since is not None and until is not None:
        if since > until:
            raise InvalidDateRange(f"the range starts ({since}) after it ends ({until})")
        if (until - since).days > DATE_RANGE_DAYS_MAX:
            raise InvalidDateRange(f"a range spans at most {DATE_RANGE_DAYS_MAX} days")
    return (
        None if since is None else seoul_midnight(since),
        None if until is None else seoul_midnight(until + timedelta(days=1)),
    )
