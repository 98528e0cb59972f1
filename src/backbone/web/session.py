"""The member behind the browser's identity session, for pages. The API's `CurrentMemberDep`
expects the CSRF header on every post; pages post forms with the portal's own form token instead
(checked by `PostedForm`), so they read the session through the identity service here."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from backbone.dependencies import service
from backbone.identity.attempts import counting
from backbone.identity.dependencies import SESSION_COOKIE
from backbone.identity.domain import CurrentMember
from backbone.identity.errors import NotAuthenticated, SessionExpired
from backbone.identity.service import Identity
from backbone.kit.db import Database
from backbone.web.errors import LoginRequired, here

_RESOLVED = "portal_member"


def portal_member(request: Request) -> CurrentMember | None:
    """The logged-in member, or None; resolved once per request."""
    if hasattr(request.state, _RESOLVED):
        return cast(CurrentMember | None, getattr(request.state, _RESOLVED))
    token = request.cookies.get(SESSION_COOKIE)
    member: CurrentMember | None = None
    if token:
        identity = cast(Identity, service(request, "identity"))
        database = cast(Database, service(request, "database"))
        try:
            member = counting(database, lambda session: identity.sessions.authenticate(session, token))
        except (NotAuthenticated, SessionExpired):
            member = None
    setattr(request.state, _RESOLVED, member)
    return member


def required_member(request: Request) -> CurrentMember:
    member = portal_member(request)
    if member is None:
        raise LoginRequired(here(request))
    return member


def forget_member(request: Request) -> None:
    """After logging in or out within a request, the next look re-reads the session."""
    if hasattr(request.state, _RESOLVED):
        delattr(request.state, _RESOLVED)
