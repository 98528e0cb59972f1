"""The portal's own refusals, and how any failure on a page reaches the person: as a page in their
language with a readable sentence, never as JSON or a traceback. The API's paths keep their
problem+json (the handlers here wrap the API's handlers and only answer differently for pages).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from backbone.errors import BackboneError

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

# Everything else on the server is the portal's: these belong to the API and operations.
NON_PAGE_PREFIXES = (
    "/api/",
    "/open/",
    "/oauth/",
    "/.well-known/",
    "/static/",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
    "/problems",
)


class PortalError(BackboneError):
    code = "portal.error"
    title = "The portal refused the request"


class FormExpired(PortalError):
    """The form's CSRF token is missing or not this browser's: a stale page or a forged post."""

    status_code = 403
    code = "portal.form_expired"
    title = "The form has expired; load the page again"


class LoginRequired(Exception):
    """The page needs a member: send the browser to the login page, then back here."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_page_path(path: str) -> bool:
    return not path.startswith(NON_PAGE_PREFIXES)


def login_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(next_path, safe='/')}", status_code=303)


def install_page_errors(
    app: FastAPI, render_error: Callable[[Request, int, str, dict[str, Any]], Response]
) -> None:
    """Wrap the API's exception handlers: on a page path, keep their logging and status, and answer
    with the portal's error page instead of problem+json."""
    originals: dict[Any, Handler] = {
        kind: app.exception_handlers[kind]
        for kind in (BackboneError, RequestValidationError, StarletteHTTPException, Exception)
    }

    def wrapping(kind: Any) -> Handler:
        original = originals[kind]

        async def handler(request: Request, error: Any) -> Response:
            answered = original(request, error)  # logs unexpected failures as the API does
            if inspect.isawaitable(answered):
                answered = await answered
            if not is_page_path(request.url.path):
                return answered
            if isinstance(error, BackboneError):
                if error.code in ("identity.not_authenticated", "identity.session_expired"):
                    return login_redirect(request.url.path)
                return render_error(request, error.status_code, error.code, dict(error.extensions))
            if isinstance(error, RequestValidationError):
                return render_error(request, answered.status_code, "request.invalid", {})
            code = "server.internal_error" if answered.status_code >= 500 else f"http.{answered.status_code}"
            return render_error(request, answered.status_code, code, {})

        return handler

    for kind in originals:
        app.exception_handlers[kind] = wrapping(kind)

    async def login_required(request: Request, error: Exception) -> Response:
        next_path = error.next_path if isinstance(error, LoginRequired) else "/"
        return login_redirect(next_path)

    app.exception_handlers[LoginRequired] = login_required
