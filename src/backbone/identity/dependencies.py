"""The portal session as FastAPI dependencies, for identity's endpoints and every other domain's.

    from backbone.identity.dependencies import CurrentMemberDep, requires
    from backbone.identity.domain import CurrentMember, Operation

    @router.get("/accounts")
    def accounts(member: CurrentMemberDep) -> ...:            # any live session
        ...member.member_id, member.personal_identifier...

    @router.post("/consents")
    def consent(member: Annotated[CurrentMember, requires(Operation.SIGN_CONSENT)]) -> ...:
        ...                                                   # a fresh certificate signature or ARS

An operation whose requirement depends on the request body (a withdrawal's amount) calls
`identity.step_up.require(member, Operation.WITHDRAWAL, amount_won=...)` itself and honours the
clearance's `not_before`.

Sessions travel in an HttpOnly cookie; a state-changing request (anything but GET, HEAD, OPTIONS)
must also carry the session's CSRF token in the X-CSRF-Token header (the portal reads it from the
`backbone_csrf` cookie or `GET /api/v1/identity/session`).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Request, Response

from backbone.config import Settings
from backbone.dependencies import service
from backbone.identity import tokens
from backbone.identity.attempts import counting
from backbone.identity.domain import SESSION_LIFETIME_S, VERIFICATION_TTL_S, CurrentMember, Operation
from backbone.identity.errors import CsrfRejected
from backbone.identity.service import Identity
from backbone.identity.service.sessions import OpenedSession, WriteNeeded
from backbone.kit.db import Database

SESSION_COOKIE = "backbone_session"
DEVICE_COOKIE = "backbone_device"
FLOW_COOKIE = "backbone_flow"
CSRF_COOKIE = "backbone_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 3_600  # browsers cap cookie lifetimes at 400 days
API_PATH = "/api/v1/identity"


def _identity(request: Request) -> Identity:
    return cast(Identity, service(request, "identity"))


def _settings(request: Request) -> Settings:
    return cast(Settings, service(request, "settings"))


IdentityDep = Annotated[Identity, Depends(_identity)]


def csrf_token_for(identity: Identity, session_token: str) -> str:
    return tokens.csrf_token(tokens.subkey(identity.secret_key, "csrf"), session_token)


def current_member(request: Request) -> CurrentMember:
    identity = _identity(request)
    database = cast(Database, service(request, "database"))
    session_token = request.cookies.get(SESSION_COOKIE)
    try:
        with database.reading() as session:
            current = identity.sessions.authenticate(session, session_token, may_write=False)
    except WriteNeeded:
        current = counting(database, lambda session: identity.sessions.authenticate(session, session_token))
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not session_token or not tokens.same(sent, csrf_token_for(identity, session_token)):
            raise CsrfRejected(f"send this session's CSRF token in the {CSRF_HEADER} header")
    return current


CurrentMemberDep = Annotated[CurrentMember, Depends(current_member)]


def requires(operation: Operation) -> Any:
    """A dependency that yields the current member once the operation's assurance is met, or
    answers 403 identity.step_up_required naming the factors that would meet it."""

    def dependency(request: Request, current: CurrentMemberDep) -> CurrentMember:
        _identity(request).step_up.require(current, operation)
        return current

    return Depends(dependency)


# --- cookies ------------------------------------------------------------------------------------


def set_session_cookies(request: Request, response: Response, opened: OpenedSession) -> None:
    secure = _settings(request).cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        opened.session_token,
        max_age=SESSION_LIFETIME_S,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token_for(_identity(request), opened.session_token),
        max_age=SESSION_LIFETIME_S,
        path="/",
        secure=secure,
        httponly=False,  # the portal's script reads it to send it back as a header
        samesite="strict",
    )
    if opened.device_token is not None:
        response.set_cookie(
            DEVICE_COOKIE,
            opened.device_token,
            max_age=DEVICE_COOKIE_MAX_AGE_S,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )


def clear_session_cookies(request: Request, response: Response) -> None:
    secure = _settings(request).cookie_secure
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, samesite="lax")


def set_flow_cookie(request: Request, response: Response, flow_token: str) -> None:
    response.set_cookie(
        FLOW_COOKIE,
        flow_token,
        max_age=VERIFICATION_TTL_S,
        path=API_PATH,
        secure=_settings(request).cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_flow_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        FLOW_COOKIE, path=API_PATH, secure=_settings(request).cookie_secure, samesite="strict"
    )


def device_label(request: Request) -> str:
    return request.headers.get("user-agent", "unknown device")
