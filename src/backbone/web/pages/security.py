"""추가 인증 (step-up) and 인증서 등록 (seed 002, screen 10's certificate half).

- `/my/security`: prove presence again in this session, by PIN (a form), by certificate signature
  (the reusable sign component over a challenge this page issues), or by ARS (the page shows the
  two digits; htmx asks for the call's status until the phone has keyed them in).
- `/my/certificates/new`: Korean certificate issuance first re-verifies identity by SMS (the
  `issue_certificate` rule); then the browser makes the key pair and the CSR, the identity API
  issues the certificate, and the browser keeps both (certificates.js).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backbone.errors import BackboneError
from backbone.identity.attempts import counting
from backbone.identity.domain import (
    PIN_LENGTH,
    SMS_CODE_LENGTH,
    CurrentMember,
    Factor,
    Operation,
    Verification,
    VerificationStatus,
)
from backbone.identity.errors import StepUpRequired, UnknownVerification
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import DatabaseDep, IdentityDep, PostedForm
from backbone.web.rendering import fragment, page, redirect, translator
from backbone.web.session import required_member

router = APIRouter(prefix="/my")

STEP_UP_PURPOSE = "step-up"
PIN_PATTERN = re.compile(rf"^\d{{{PIN_LENGTH}}}$")
CODE_PATTERN = re.compile(rf"^\d{{{SMS_CODE_LENGTH}}}$")
ARS_POLL_S = 2


def _cleared(identity: IdentityDep, member: CurrentMember, operation: Operation) -> bool:
    try:
        identity.step_up.require(member, operation)
    except StepUpRequired:
        return False
    return True


# --- step-up ------------------------------------------------------------------------------------


def _security_page(
    request: Request,
    member: CurrentMember,
    database: DatabaseDep,
    identity: IdentityDep,
    *,
    form: Form | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    # The document to sign is issued with the page, in the page's language, as a consent page
    # will issue its consent text: what the member reads is inside the bytes they sign.
    text = translator(request)("security.certificate.document", name=member.name)
    with database.transaction() as session:
        challenge = identity.signing.issue(
            session, purpose=STEP_UP_PURPOSE, text=text, member_id=member.member_id
        )
    return page(
        request,
        "pages/my/security.html",
        status=status,
        member=member,
        form=form or Form(),
        challenge=challenge,
        proofs=sorted(member.assurance.proven_at.items()),
        clearances={operation: _cleared(identity, member, operation) for operation in Operation},
        **context,
    )


@router.get("/security", response_class=HTMLResponse)
def security(
    request: Request, database: DatabaseDep, identity: IdentityDep, signature: int | None = None
) -> HTMLResponse:
    member = required_member(request)
    return _security_page(request, member, database, identity, signature_id=signature, proven=None)


@router.post("/security/pin", response_class=HTMLResponse)
def prove_with_pin(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> Response:
    member = required_member(request)
    pin = form.values.get("pin", "")
    form.required(("pin",))
    if pin and not PIN_PATTERN.match(pin):
        form.add("pin", "errors.identity.invalid_pin")
    if form.valid:

        def work(session: Any) -> None:
            details = identity.members.member(session, member.member_id)
            identity.members.check_pin(session, details, pin, reference=f"session:{member.session_id}")
            identity.sessions.add_proof(session, member.session_id, Factor.PIN, "step-up:pin")

        try:
            counting(database, work)
        except BackboneError as error:
            form.refused(error, field_name="pin")
    if not form.valid:
        return _security_page(
            request, member, database, identity, form=form, status=422, signature_id=None, proven=None
        )
    return redirect(request, "/my/security?proven=pin")


@router.post("/security/ars", response_class=HTMLResponse)
def start_ars_call(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> HTMLResponse:
    del form  # CSRF checked
    member = required_member(request)
    text = translator(request)("security.ars.script")
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        call, digits = identity.ars.call(
            session, member=details, purpose=STEP_UP_PURPOSE, text=text, session_id=member.session_id
        )
    # The digits exist only in this answer (identity keeps an HMAC): the page is the only place
    # the member sees them, so it is rendered here rather than after a redirect.
    return page(request, "pages/my/ars.html", member=member, call=call, digits=digits, poll_s=ARS_POLL_S)


@router.get("/security/ars/{call_id}", response_class=HTMLResponse)
def ars_status(call_id: int, request: Request, database: DatabaseDep, identity: IdentityDep) -> HTMLResponse:
    member = required_member(request)
    with database.reading() as session:
        call = identity.ars.status(session, call_id, member_id=member.member_id)
    return fragment(request, "components/ars_status.html", call=call, poll_s=ARS_POLL_S)


# --- certificate registration -------------------------------------------------------------------


def _certificate_page(
    request: Request,
    member: CurrentMember,
    identity: IdentityDep,
    *,
    verification: Verification | None = None,
    form: Form | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "pages/my/certificate_new.html",
        status=status,
        member=member,
        cleared=_cleared(identity, member, Operation.ISSUE_CERTIFICATE),
        verification=verification,
        form=form or Form(),
    )


def _member_verification(
    database: DatabaseDep, identity: IdentityDep, member: CurrentMember, verification_id: int
) -> Verification | None:
    with database.reading() as session:
        try:
            return identity.members.verification_of_member(session, verification_id, member.member_id)
        except UnknownVerification:
            return None


@router.get("/certificates/new", response_class=HTMLResponse)
def new_certificate(
    request: Request, database: DatabaseDep, identity: IdentityDep, verification: int | None = None
) -> HTMLResponse:
    member = required_member(request)
    pending = None
    if verification is not None:
        found = _member_verification(database, identity, member, verification)
        if found is not None and found.status is VerificationStatus.CODE_SENT:
            pending = found
    return _certificate_page(request, member, identity, verification=pending)


@router.post("/certificates/verification", response_class=HTMLResponse)
def send_certificate_code(
    request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> Response:
    member = required_member(request)
    try:
        with database.transaction() as session:
            details = identity.members.member(session, member.member_id)
            verification = identity.members.start_step_up(session, details)
    except BackboneError as error:
        form.refused(error, field_name=FORM)
        return _certificate_page(request, member, identity, form=form, status=error.status_code)
    return redirect(request, f"/my/certificates/new?verification={verification.id}")


@router.post("/certificates/verification/{verification_id}", response_class=HTMLResponse)
def confirm_certificate_code(
    verification_id: int, request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> Response:
    member = required_member(request)
    verification = _member_verification(database, identity, member, verification_id)
    if verification is None:
        return redirect(request, "/my/certificates/new")
    typed = form.values.get("code", "").replace(" ", "")
    form.required(("code",))
    if typed and not CODE_PATTERN.match(typed):
        form.add("code", "validation.code")
    if form.valid:

        def work(session: Any) -> None:
            found = identity.members.verification_of_member(session, verification_id, member.member_id)
            confirmed = identity.members.confirm_code(session, found, typed)
            identity.sessions.add_proof(
                session, member.session_id, Factor.SMS, f"verification:{verification_id}"
            )
            identity.members.complete_step_up(session, confirmed)

        try:
            counting(database, work)
        except BackboneError as error:
            form.refused(error)
    if not form.valid:
        fresh = _member_verification(database, identity, member, verification_id)
        still_open = fresh if fresh is not None and fresh.status is VerificationStatus.CODE_SENT else None
        return _certificate_page(request, member, identity, verification=still_open, form=form, status=422)
    return redirect(request, "/my/certificates/new")
