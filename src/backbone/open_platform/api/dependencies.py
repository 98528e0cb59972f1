"""The open API's dependencies: the bearer token, its scope, and the app's limits (RateLimit
headers on every answer; 429 with Retry-After when a limit is reached)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from backbone.dependencies import service
from backbone.exchange.instruments import Instrument
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.open_platform.companies.domain import App
from backbone.open_platform.errors import InsufficientScope, QuotaExceeded, RateLimited, TokenRejected
from backbone.open_platform.inquiry import Reading
from backbone.open_platform.oauth.domain import AccessGrant
from backbone.open_platform.oauth.service import BEARER_CHALLENGE
from backbone.open_platform.reads import reading as read_session
from backbone.open_platform.scopes import Scope
from backbone.open_platform.services import OpenPlatform

bearer = HTTPBearer(auto_error=False, description="An access token from /oauth/token")


def platform(request: Request) -> OpenPlatform:
    return cast(OpenPlatform, service(request, "open_platform"))


def database(request: Request) -> Database:
    return cast(Database, service(request, "database"))


# The dependencies that only look something up are `async`: FastAPI runs a plain `def` dependency
# in the thread pool, and a thread hop costs far more than these lookups.


def clock_of(request: Request) -> Clock:
    return cast(Clock, service(request, "clock"))


def instruments_of(request: Request) -> dict[str, Instrument]:
    return cast(dict[str, Instrument], service(request, "instruments"))


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


async def platform_dependency(request: Request) -> OpenPlatform:
    return platform(request)


async def clock(request: Request) -> Clock:
    return clock_of(request)


async def instruments(request: Request) -> dict[str, Instrument]:
    return instruments_of(request)


PlatformDep = Annotated[OpenPlatform, Depends(platform_dependency)]
ClockDep = Annotated[Clock, Depends(clock)]
InstrumentsDep = Annotated[dict[str, Instrument], Depends(instruments)]


async def request_id(request: Request) -> str:
    return request_id_of(request)


RequestIdDep = Annotated[str, Depends(request_id)]


def _limits(opened: OpenPlatform, app: App, response: Response | dict[str, str]) -> None:
    decision = opened.limits.take(app.id, daily_quota=app.daily_quota, burst_limit=app.burst_limit)
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_s),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after_s)
        if decision.reason == "quota":
            raise QuotaExceeded(f"the daily quota of {decision.limit:,} calls is used up", headers=headers)
        raise RateLimited(f"at most {app.burst_limit} calls per second", headers=headers)
    (response if isinstance(response, dict) else response.headers).update(headers)


def member_reading(request: Request, scope: Scope, headers: dict[str, str]) -> Reading:
    """What `reads_member_data(scope)` gives, for an endpoint that declares no dependencies (the
    open API's busiest call: FastAPI's dependency resolution cost more than the token check);
    the RateLimit headers are put in `headers`. Such an endpoint declares
    `openapi_extra=BEARER_SECURITY` to keep its place in the OpenAPI document."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))  # as HTTPBearer
    credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if token else None
    reading = _authorized(request, headers, credentials, scope, member=True)[1]
    assert reading is not None
    return reading


BEARER_SECURITY: dict[str, Any] = {"security": [{bearer.scheme_name: []}]}


def _authorized(
    request: Request,
    response: Response | dict[str, str],
    credentials: HTTPAuthorizationCredentials | None,
    scope: Scope,
    *,
    member: bool,
) -> tuple[AccessGrant, Reading | None]:
    """The token, the app's limits and the scope checked, and for a member's data what the app
    may read: all in one read session."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenRejected(
            "send `Authorization: Bearer <access token>`", headers={"WWW-Authenticate": BEARER_CHALLENGE}
        )
    opened = platform(request)
    with read_session(database(request)) as session:
        caller = opened.oauth.caller(session, credentials.credentials)
        _limits(opened, caller.app, response)
        if scope not in caller.grant.scopes:
            raise InsufficientScope(
                f"this needs the {scope.value} scope",
                headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="insufficient_scope"'},
                scope=scope.value,
            )
        reading = opened.inquiry.reading(session, caller) if member else None
    return caller.grant, reading


# `async`, so the bearer check runs on the event loop instead of hopping to a thread: it reads
# two rows from the platform's own tables (a thread hop cost more than the reads, measured).


def requires_scope(scope: Scope) -> Any:
    async def dependency(
        request: Request,
        response: Response,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> AccessGrant:
        return _authorized(request, response, credentials, scope, member=False)[0]

    return Depends(dependency)


def reads_member_data(scope: Scope) -> Any:
    async def dependency(
        request: Request,
        response: Response,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Reading:
        reading = _authorized(request, response, credentials, scope, member=True)[1]
        assert reading is not None
        return reading

    return Depends(dependency)


AccountReader = Annotated[Reading, reads_member_data(Scope.ACCOUNT_READ)]
WatchlistReader = Annotated[Reading, reads_member_data(Scope.WATCHLIST_READ)]
MarketReader = Annotated[AccessGrant, requires_scope(Scope.MARKET_READ)]
