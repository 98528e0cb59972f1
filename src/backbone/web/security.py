"""The portal's own protections, beside identity's session cookies.

- **Form CSRF** (signed double-submit): every browser gets a random id in an HttpOnly cookie; a
  form carries HMAC(subkey "portal-csrf", that id) in a hidden field, and every POST must bring the
  pair. It covers anonymous forms too (terms, verification, login), which identity's
  session-derived token cannot, and needs no storage. Scripts that call identity's API send
  identity's own `X-CSRF-Token` instead.
- **Where to go next**: only local paths are followed, so a crafted `?next=` cannot send a member
  to another site after logging in.
- **Headers**: a Content-Security-Policy that allows only Backbone's own scripts, styles, images
  and connections (the portal fetches nothing from elsewhere), no framing, no inline script.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import cast

from fastapi import Request, Response

from backbone.config import Settings
from backbone.dependencies import service
from backbone.identity import tokens
from backbone.identity.service import Identity

BROWSER_COOKIE = "backbone_browser"
BROWSER_COOKIE_MAX_AGE_S = 400 * 24 * 3_600  # browsers cap cookie lifetimes at 400 days
CSRF_FIELD = "csrf_token"
BROWSER_ID_LENGTH_MAX = 64
NEXT_PATH_LENGTH_MAX = 512

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # pages show personal data; never keep them in a shared cache
}


def _identity(request: Request) -> Identity:
    return cast(Identity, service(request, "identity"))


def settings_of(request: Request) -> Settings:
    return cast(Settings, service(request, "settings"))


def browser_id(request: Request) -> str:
    """This browser's id: the cookie's, or a new one that `remember_browser` will set."""
    known = request.cookies.get(BROWSER_COOKIE, "")
    if known and len(known) <= BROWSER_ID_LENGTH_MAX:
        return known
    fresh = getattr(request.state, "new_browser_id", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_browser_id = fresh
    return str(fresh)


def form_token(request: Request) -> str:
    key = tokens.subkey(_identity(request).secret_key, "portal-csrf")
    digest = hmac.new(key, browser_id(request).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def form_token_valid(request: Request, sent: str) -> bool:
    if not request.cookies.get(BROWSER_COOKIE):
        return False  # a form from a page this browser never loaded
    return tokens.same(sent, form_token(request))


def remember_browser(request: Request, response: Response) -> None:
    fresh = getattr(request.state, "new_browser_id", None)
    if fresh is not None:
        response.set_cookie(
            BROWSER_COOKIE,
            str(fresh),
            max_age=BROWSER_COOKIE_MAX_AGE_S,
            path="/",
            secure=settings_of(request).cookie_secure,
            httponly=True,
            samesite="lax",
        )


def safe_next(candidate: str | None, default: str) -> str:
    """A local path to continue to, never another site (`//evil.example`, `https://…`, `/\\…`)."""
    if not candidate or len(candidate) > NEXT_PATH_LENGTH_MAX:
        return default
    if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return default
    if any(character in candidate for character in "\r\n\t\\") or candidate.startswith("/api/"):
        return default
    return candidate
