"""로그인 and 로그아웃: by phone and PIN (a form the server checks), by passkey or by certificate
signature (the browser's authenticator or key answers the identity API; see passkeys.js and
certificates.js). Identity opens the session and sets its cookies either way."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from backbone.errors import BackboneError
from backbone.identity.attempts import counting
from backbone.identity.dependencies import (
    DEVICE_COOKIE,
    clear_session_cookies,
    device_label,
    set_session_cookies,
)
from backbone.identity.domain import PIN_LENGTH, normalise_phone
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import DatabaseDep, IdentityDep, PostedForm
from backbone.web.rendering import page, redirect
from backbone.web.security import safe_next
from backbone.web.session import forget_member, portal_member

router = APIRouter()

AFTER_LOGIN = "/my"
PIN_PATTERN = re.compile(rf"^\d{{{PIN_LENGTH}}}$")


def _login_page(request: Request, form: Form, next_path: str, *, status: int = 200) -> HTMLResponse:
    return page(request, "pages/login.html", status=status, form=form, next_path=next_path)


@router.get("/login", response_class=HTMLResponse)
def login(request: Request, next_page: Annotated[str | None, Query(alias="next")] = None) -> Response:
    next_path = safe_next(next_page, AFTER_LOGIN)
    if portal_member(request) is not None:
        return redirect(request, next_path)
    return _login_page(request, Form(), next_path)


@router.post("/login", response_class=HTMLResponse)
def login_with_pin(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> Response:
    next_path = safe_next(form.values.get("next"), AFTER_LOGIN)
    form.required(("phone", "pin"))
    phone = form.check("phone", normalise_phone, "validation.phone") if form.values.get("phone") else None
    pin = form.values.get("pin", "")
    if pin and not PIN_PATTERN.match(pin):
        form.add("pin", "errors.identity.invalid_pin")
    if not form.valid or phone is None:
        return _login_page(request, form, next_path, status=422)
    try:
        opened = counting(
            database,
            lambda session: identity.logins.with_pin(
                session,
                phone=phone,
                pin=pin,
                device_token=request.cookies.get(DEVICE_COOKIE),
                device_label=device_label(request),
            ),
        )
    except BackboneError as error:
        # A wrong phone and a wrong PIN read alike, at the top: which one is not told.
        form.refused(error, field_name=FORM)
        return _login_page(request, form, next_path, status=error.status_code)
    forget_member(request)
    if next_path.startswith("/oauth/"):
        # An app's authorization request ends at the app's own site. Browsers apply the page's
        # `form-action 'self'` to every redirect after a form post, so the way back to the app
        # starts from a page of its own (a refresh and a link), not from this post's redirect.
        response: Response = page(request, "pages/continue.html", member=None, next_path=next_path)
    else:
        response = redirect(request, next_path)
    set_session_cookies(request, response, opened)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep) -> Response:
    del form  # its CSRF token was checked; a forged logout is refused too
    member = portal_member(request)
    if member is not None:
        with database.transaction() as session:
            identity.sessions.end(session, member)
    response = redirect(request, "/")
    clear_session_cookies(request, response)
    forget_member(request)
    return response
