"""Sign-up (terms → SMS verification → member details) and PIN reset (SMS verification → new PIN).
Anonymous flows: the flow token lives in an HttpOnly cookie scoped to this API."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from backbone.identity.attempts import counting
from backbone.identity.dependencies import (
    DEVICE_COOKIE,
    clear_flow_cookie,
    device_label,
    set_flow_cookie,
    set_session_cookies,
)
from backbone.identity.domain import TERMS, Factor, VerificationPurpose
from backbone.identity.endpoints.common import DatabaseDep, IdentityDep, flow_token
from backbone.identity.schemas import (
    CodeIn,
    IdentityClaimIn,
    MemberDetailsIn,
    MemberOut,
    PinIn,
    SignupIn,
    TermOut,
    VerificationOut,
)

router = APIRouter(tags=["identity: sign-up"])


@router.get("/terms", summary="The terms in force, with their versions")
def terms() -> list[TermOut]:
    return [TermOut.of(term) for term in TERMS]


@router.post("/signup", status_code=status.HTTP_201_CREATED, summary="Start: accept the terms")
def start_signup(
    body: SignupIn, request: Request, response: Response, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    with database.transaction() as session:
        started = identity.members.start_signup(session, accepted_terms=body.accepted_terms)
    set_flow_cookie(request, response, started.flow_token)
    return VerificationOut.of(started.verification)


@router.post("/signup/code", summary="Identity: name, birth date and phone; a code is sent by SMS")
def send_signup_code(
    body: IdentityClaimIn, request: Request, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    with database.transaction() as session:
        verification = identity.members.send_signup_code(
            session, flow_token(request), name=body.name, birth_date=body.birth_date, phone=body.phone
        )
    return VerificationOut.of(verification)


@router.post("/signup/code/resend", summary="Send a new code (limited)")
def resend_signup_code(request: Request, database: DatabaseDep, identity: IdentityDep) -> VerificationOut:
    return _resend(request, database, identity, VerificationPurpose.SIGNUP)


@router.post("/signup/code/confirm", summary="Confirm the code; the identity provider names the person")
def confirm_signup_code(
    body: CodeIn, request: Request, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    return _confirm(request, database, identity, VerificationPurpose.SIGNUP, body.code)


@router.post(
    "/signup/complete",
    status_code=status.HTTP_201_CREATED,
    summary="Member details; the member is created, logged in, and a confirmation e-mail is sent",
)
def complete_signup(
    body: MemberDetailsIn, request: Request, response: Response, database: DatabaseDep, identity: IdentityDep
) -> MemberOut:
    token = flow_token(request)
    with database.transaction() as session:
        member = identity.members.complete_signup(session, token, email=body.email)
        opened = identity.sessions.open(
            session,
            member,
            factor=Factor.SMS,
            reference=f"member:{member.id}",
            device_token=request.cookies.get(DEVICE_COOKIE),
            device_label=device_label(request),
        )
        terms = identity.members.accepted_terms(session, member.id)
    set_session_cookies(request, response, opened)
    clear_flow_cookie(request, response)
    return MemberOut.of(member, terms)


# --- PIN reset ----------------------------------------------------------------------------------


@router.post(
    "/pin-reset",
    status_code=status.HTTP_201_CREATED,
    summary="A locked or forgotten PIN: verify identity by SMS again",
)
def start_pin_reset(
    body: IdentityClaimIn, request: Request, response: Response, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    with database.transaction() as session:
        started = identity.members.start_pin_reset(
            session, name=body.name, birth_date=body.birth_date, phone=body.phone
        )
    set_flow_cookie(request, response, started.flow_token)
    return VerificationOut.of(started.verification)


@router.post("/pin-reset/code/resend", summary="Send a new code (limited)")
def resend_pin_reset_code(request: Request, database: DatabaseDep, identity: IdentityDep) -> VerificationOut:
    return _resend(request, database, identity, VerificationPurpose.PIN_RESET)


@router.post("/pin-reset/code/confirm", summary="Confirm the code")
def confirm_pin_reset_code(
    body: CodeIn, request: Request, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    return _confirm(request, database, identity, VerificationPurpose.PIN_RESET, body.code)


@router.post("/pin-reset/complete", status_code=status.HTTP_204_NO_CONTENT, summary="Set the new PIN")
def complete_pin_reset(
    body: PinIn, request: Request, response: Response, database: DatabaseDep, identity: IdentityDep
) -> None:
    with database.transaction() as session:
        identity.members.complete_pin_reset(session, flow_token(request), pin=body.pin)
    clear_flow_cookie(request, response)


def _resend(
    request: Request, database: DatabaseDep, identity: IdentityDep, purpose: VerificationPurpose
) -> VerificationOut:
    with database.transaction() as session:
        verification = identity.members.verification_by_token(session, flow_token(request), purpose)
        return VerificationOut.of(identity.members.resend_code(session, verification))


def _confirm(
    request: Request, database: DatabaseDep, identity: IdentityDep, purpose: VerificationPurpose, code: str
) -> VerificationOut:
    token = flow_token(request)

    def work(session: Session) -> VerificationOut:
        verification = identity.members.verification_by_token(session, token, purpose)
        return VerificationOut.of(identity.members.confirm_code(session, verification, code))

    return counting(database, work)
