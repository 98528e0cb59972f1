"""포털 초기화면 (seed 002, screen 1) and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from backbone.web.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE_S, language_of
from backbone.web.pages.common import SettingsDep
from backbone.web.rendering import page
from backbone.web.security import remember_browser, safe_next

router = APIRouter()

# The open platform's services as the home screen lists them, and their pages.
SERVICES = ("apply", "virtual_accounts", "consents", "inquiry")
SERVICE_LINKS = {
    "apply": "/services",
    "virtual_accounts": "/virtual-accounts",
    "consents": "/consents",
    "inquiry": "/inquiry",
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return page(request, "pages/home.html", services=SERVICES, service_links=SERVICE_LINKS)


@router.get("/language/{code}")
def switch_language(
    code: str, request: Request, settings: SettingsDep, next_path: Annotated[str, Query(alias="next")] = "/"
) -> RedirectResponse:
    """A plain link on every page (no script needed). Only a display preference changes, so a
    forged link could at worst switch someone's language: no CSRF token is asked for."""
    chosen = language_of(code)
    response = RedirectResponse(safe_next(next_path, "/"), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen.value,
        max_age=LANGUAGE_COOKIE_MAX_AGE_S,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    remember_browser(request, response)
    return response
