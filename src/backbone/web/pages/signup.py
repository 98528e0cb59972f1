"""회원가입 (seed 002, screens 2–5): terms → identity verification by SMS → member details →
complete, with the confirmation e-mail the identity service sends.

Identity keeps an anonymous sign-up by a random flow token; the API keeps it in a cookie scoped to
the API, so the pages keep their own copy in `backbone_signup`, scoped to /signup and HttpOnly.
Each step validates on the server with identity's own rules, field by field, before calling the
service; a refusal from the service lands beside the field it concerns.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backbone.errors import BackboneError
from backbone.identity.attempts import counting
from backbone.identity.dependencies import DEVICE_COOKIE, device_label, set_session_cookies
from backbone.identity.domain import (
    SMS_CODE_LENGTH,
    TERMS,
    VERIFICATION_TTL_S,
    Factor,
    Verification,
    VerificationPurpose,
    VerificationStatus,
    check_birth_date,
    check_pin,
    normalise_email,
    normalise_name,
    normalise_phone,
)
from backbone.identity.errors import InvalidPinFormat, UnknownVerification, VerificationExpired, WeakPin
from backbone.identity.service.sessions import OpenedSession
from backbone.kit.clock import seoul_date
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import ClockDep, DatabaseDep, IdentityDep, PostedForm, SettingsDep
from backbone.web.rendering import page, redirect
from backbone.web.session import required_member

router = APIRouter(prefix="/signup")

FLOW_COOKIE = "backbone_signup"
FLOW_PATH = "/signup"
STEPS = ("terms", "identity", "details", "complete")
BIRTH_DATE_PATTERN = re.compile(r"^(\d{4})[-./ ]?(\d{2})[-./ ]?(\d{2})$")
CODE_PATTERN = re.compile(rf"^\d{{{SMS_CODE_LENGTH}}}$")


def term_field(code: str) -> str:
    return f"term_{code}"


def parse_birth_date(text: str) -> date:
    """19900517, 1990-05-17 or 1990.05.17: the forms people type a birth date in."""
    match = BIRTH_DATE_PATTERN.match(text.strip())
    if match is None:
        raise ValueError("not a date")
    year, month, day = (int(part) for part in match.groups())
    return date(year, month, day)


# --- the flow cookie ----------------------------------------------------------------------------


def _flow_token(request: Request) -> str | None:
    return request.cookies.get(FLOW_COOKIE) or None


def _keep_flow(request: Request, response: Response, settings: SettingsDep, flow_token: str) -> None:
    response.set_cookie(
        FLOW_COOKIE,
        flow_token,
        max_age=VERIFICATION_TTL_S,
        path=FLOW_PATH,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def _drop_flow(response: Response, settings: SettingsDep) -> None:
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, secure=settings.cookie_secure, samesite="strict")


def _verification(request: Request, database: DatabaseDep, identity: IdentityDep) -> Verification | None:
    """The sign-up this browser is in, or None (none started, unknown, or expired)."""
    token = _flow_token(request)
    if token is None:
        return None
    with database.reading() as session:
        try:
            return identity.members.verification_by_token(session, token, VerificationPurpose.SIGNUP)
        except UnknownVerification:
            return None


# Where a sign-up belongs, by the state of its verification; a failed or finished one starts over.
STEP_PATHS = {
    VerificationStatus.STARTED: "/signup/identity",
    VerificationStatus.CODE_SENT: "/signup/code",
    VerificationStatus.VERIFIED: "/signup/details",
}


def _step_path(verification: Verification | None) -> str:
    return "/signup/terms" if verification is None else STEP_PATHS.get(verification.status, "/signup/terms")


def _step_page(
    request: Request, template: str, step: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    return page(request, template, status=status, steps=STEPS, current_step=step, **context)


# --- 2. terms -----------------------------------------------------------------------------------


@router.get("", include_in_schema=False)
def start(request: Request) -> Response:
    return redirect(request, "/signup/terms")


def _terms_page(request: Request, form: Form, *, status: int = 200) -> HTMLResponse:
    return _step_page(
        request,
        "pages/signup/terms.html",
        "terms",
        status=status,
        form=form,
        terms=TERMS,
        term_field=term_field,
    )


@router.get("/terms", response_class=HTMLResponse)
def terms(request: Request) -> HTMLResponse:
    return _terms_page(request, Form())


@router.post("/terms", response_class=HTMLResponse)
def accept_terms(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep, settings: SettingsDep
) -> Response:
    accepted: dict[str, str] = {}
    for term in TERMS:
        sent = form.values.get(term_field(term.code))
        if sent is not None:
            accepted[term.code] = term.version
        elif term.required:
            form.add(term_field(term.code), "validation.term_required")
    if not form.valid:
        return _terms_page(request, form, status=422)
    try:
        with database.transaction() as session:
            started = identity.members.start_signup(session, accepted_terms=accepted)
    except BackboneError as error:
        form.refused(error)
        return _terms_page(request, form, status=error.status_code)
    response = redirect(request, "/signup/identity")
    _keep_flow(request, response, settings, started.flow_token)
    return response


# --- 3. identity verification by SMS ------------------------------------------------------------


def _identity_page(request: Request, form: Form, *, status: int = 200) -> HTMLResponse:
    return _step_page(request, "pages/signup/identity.html", "identity", status=status, form=form)


@router.get("/identity", response_class=HTMLResponse)
def identity_claim(request: Request, database: DatabaseDep, identity: IdentityDep) -> Response:
    verification = _verification(request, database, identity)
    if _step_path(verification) != "/signup/identity":
        return redirect(request, _step_path(verification))
    return _identity_page(request, Form())


@router.post("/identity", response_class=HTMLResponse)
def send_code(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep, clock: ClockDep
) -> Response:
    token = _flow_token(request)
    if token is None:
        return redirect(request, "/signup/terms")
    name = form.check("name", normalise_name, "validation.name")
    birth_date = form.check("birth_date", parse_birth_date, "validation.birth_date_format")
    if birth_date is not None:
        form.check(
            "birth_date",
            lambda _text: check_birth_date(birth_date, seoul_date(clock.now())),
            "validation.birth_date_range",
        )
    phone = form.check("phone", normalise_phone, "validation.phone")
    form.required(("name", "birth_date", "phone"))
    if not form.valid:
        return _identity_page(request, form, status=422)
    try:
        with database.transaction() as session:
            identity.members.send_signup_code(session, token, name=name, birth_date=birth_date, phone=phone)
    except BackboneError as error:
        if error.code == "identity.verification_state":
            # Already past this step (a code was sent, say): go where this sign-up stands.
            return redirect(request, _step_path(_verification(request, database, identity)))
        form.refused(error)
        return _identity_page(request, form, status=error.status_code)
    return redirect(request, "/signup/code")


def _code_page(
    request: Request, form: Form, verification: Verification, *, status: int = 200, resent: bool = False
) -> HTMLResponse:
    return _step_page(
        request,
        "pages/signup/code.html",
        "identity",
        status=status,
        form=form,
        verification=verification,
        resent=resent,
    )


@router.get("/code", response_class=HTMLResponse)
def code(request: Request, database: DatabaseDep, identity: IdentityDep, resent: bool = False) -> Response:
    verification = _verification(request, database, identity)
    if verification is None or _step_path(verification) != "/signup/code":
        return redirect(request, _step_path(verification))
    return _code_page(request, Form(), verification, resent=resent)


@router.post("/code", response_class=HTMLResponse)
def confirm_code(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> Response:
    verification = _verification(request, database, identity)
    if verification is None:
        return redirect(request, "/signup/terms")
    typed = form.values.get("code", "").replace(" ", "")
    form.required(("code",))
    if typed and not CODE_PATTERN.match(typed):
        form.add("code", "validation.code")
    if form.valid:
        try:
            counting(database, lambda session: identity.members.confirm_code(session, verification, typed))
        except BackboneError as error:
            form.refused(error)
    if not form.valid:
        with database.reading() as session:  # attempts left, as of the refusal just recorded
            fresh = identity.members.verification_by_token(
                session, _flow_token(request) or "", VerificationPurpose.SIGNUP
            )
        return _code_page(request, form, fresh, status=422)
    return redirect(request, "/signup/details")


@router.post("/code/resend", response_class=HTMLResponse)
def resend_code(request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep) -> Response:
    verification = _verification(request, database, identity)
    if verification is None:
        return redirect(request, "/signup/terms")
    try:
        with database.transaction() as session:
            identity.members.resend_code(session, verification)
    except BackboneError as error:
        form.refused(error, field_name=FORM)
        return _code_page(request, form, verification, status=error.status_code)
    return redirect(request, "/signup/code?resent=true")


# --- 4. member details --------------------------------------------------------------------------


def _details_page(
    request: Request, form: Form, verification: Verification, *, status: int = 200
) -> HTMLResponse:
    return _step_page(
        request, "pages/signup/details.html", "details", status=status, form=form, verification=verification
    )


@router.get("/details", response_class=HTMLResponse)
def details(request: Request, database: DatabaseDep, identity: IdentityDep) -> Response:
    verification = _verification(request, database, identity)
    if verification is None or _step_path(verification) != "/signup/details":
        return redirect(request, _step_path(verification))
    return _details_page(request, Form(), verification)


@router.post("/details", response_class=HTMLResponse)
def complete(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep, settings: SettingsDep
) -> Response:
    verification = _verification(request, database, identity)
    token = _flow_token(request)
    if verification is None or token is None:
        return redirect(request, "/signup/terms")
    form.required(("email", "pin", "pin_confirmation"))
    email = form.check("email", normalise_email, "validation.email")
    pin = form.values.get("pin", "")
    if pin:
        try:
            check_pin(pin, birth_date=verification.birth_date)
        except (InvalidPinFormat, WeakPin) as error:
            form.refused(error, field_name="pin")
    if pin and form.values.get("pin_confirmation") and form.values["pin_confirmation"] != pin:
        form.add("pin_confirmation", "validation.pin_mismatch")
    if not form.valid:
        return _details_page(request, form, verification, status=422)
    try:
        # One transaction: the member, the PIN and the session exist together or not at all.
        with database.transaction() as session:
            member = identity.members.complete_signup(session, token, email=email)
            identity.members.set_pin(session, member, pin)
            opened: OpenedSession = identity.sessions.open(
                session,
                member,
                factor=Factor.SMS,
                reference=f"member:{member.id}",
                device_token=request.cookies.get(DEVICE_COOKIE),
                device_label=device_label(request),
            )
    except (VerificationExpired, UnknownVerification) as error:
        form.refused(error, field_name=FORM)
        return _details_page(request, form, verification, status=error.status_code)
    except BackboneError as error:
        form.refused(error, field_name="email" if error.code == "identity.invalid_details" else None)
        return _details_page(request, form, verification, status=error.status_code)
    response = redirect(request, "/signup/complete")
    set_session_cookies(request, response, opened)
    _drop_flow(response, settings)
    return response


# --- 5. complete --------------------------------------------------------------------------------


@router.get("/complete", response_class=HTMLResponse)
def completed(request: Request, database: DatabaseDep, identity: IdentityDep) -> HTMLResponse:
    current = required_member(request)
    with database.reading() as session:
        member = identity.members.member(session, current.member_id)
    return _step_page(request, "pages/signup/complete.html", "complete", member_details=member)
