"""Who is behind the business portal and the operator screen.

Fintech companies are not investors: they have no identity member, PIN or certificate. A company
proves itself with the API key it was given once at sign-up (the open platform keeps only its
hash); the operator with the back-office operator token. Either, checked once at the login form,
becomes a short signed cookie: `<role>.<subject>.<expiry>.<HMAC>` under a subkey of the secret
key, HttpOnly, SameSite=Strict, never holding the key or token itself. Nothing is stored on the
server; a session ends at its expiry or on logout (and every one at once if the secret key
changes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import cast

from fastapi import Request, Response

from backbone.dependencies import service
from backbone.identity import tokens
from backbone.identity.service import Identity
from backbone.kit.clock import Clock
from backbone.web.security import settings_of

BUSINESS_COOKIE = "backbone_business"
OPERATOR_COOKIE = "backbone_operator"
SESSION_S = 8 * 3_600
COOKIE_LENGTH_MAX = 256


def _signature(request: Request, payload: str) -> str:
    key = tokens.subkey(cast(Identity, service(request, "identity")).secret_key, "portal-business")
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _now_s(request: Request) -> int:
    return int(cast(Clock, service(request, "clock")).now().timestamp())


def open_session(request: Request, response: Response, *, role: str, subject: str) -> None:
    payload = f"{role}.{subject}.{_now_s(request) + SESSION_S}"
    response.set_cookie(
        BUSINESS_COOKIE if role == "company" else OPERATOR_COOKIE,
        f"{payload}.{_signature(request, payload)}",
        max_age=SESSION_S,
        path="/",
        secure=settings_of(request).cookie_secure,
        httponly=True,
        samesite="strict",
    )


def close_session(response: Response, role: str) -> None:
    response.delete_cookie(BUSINESS_COOKIE if role == "company" else OPERATOR_COOKIE, path="/")


def session_subject(request: Request, role: str) -> str | None:
    """The signed subject (a company id, or "operator"), or None when absent, forged or expired."""
    value = request.cookies.get(BUSINESS_COOKIE if role == "company" else OPERATOR_COOKIE, "")
    if not value or len(value) > COOKIE_LENGTH_MAX or value.count(".") != 3:
        return None
    payload, _, signature = value.rpartition(".")
    cookie_role, subject, expiry = payload.split(".")
    if cookie_role != role or not tokens.same(signature, _signature(request, payload)):
        return None
    if not expiry.isdigit() or int(expiry) <= _now_s(request):
        return None
    return subject
