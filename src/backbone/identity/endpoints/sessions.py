"""Logging in and out: phone and PIN, passkey, or certificate signature. A login sets the session,
CSRF and (for a new device) device cookies; the body never carries a token."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from backbone.identity.attempts import counting
from backbone.identity.dependencies import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    CurrentMemberDep,
    clear_session_cookies,
    csrf_token_for,
    current_member,
    device_label,
    set_session_cookies,
)
from backbone.identity.endpoints.common import DatabaseDep, IdentityDep, decode_base64
from backbone.identity.schemas import (
    CeremonyOut,
    ChallengeOut,
    PasskeyIn,
    PasskeyOptionsIn,
    PinLoginIn,
    SessionOut,
    SignedIn,
)
from backbone.identity.service.sessions import OpenedSession

router = APIRouter(tags=["identity: sessions"])


def _opened(
    request: Request, response: Response, database: DatabaseDep, identity: IdentityDep, opened: OpenedSession
) -> SessionOut:
    set_session_cookies(request, response, opened)
    with database.transaction() as session:
        current = identity.sessions.authenticate(session, opened.session_token)
    return SessionOut.of(current, csrf_token_for(identity, opened.session_token))


@router.post("/sessions/pin", status_code=status.HTTP_201_CREATED, summary="Log in with phone and PIN")
def login_with_pin(
    body: PinLoginIn, request: Request, response: Response, database: DatabaseDep, identity: IdentityDep
) -> SessionOut:
    def work(session: Session) -> OpenedSession:
        return identity.logins.with_pin(
            session,
            phone=body.phone,
            pin=body.pin,
            device_token=request.cookies.get(DEVICE_COOKIE),
            device_label=device_label(request),
        )

    return _opened(request, response, database, identity, counting(database, work))


@router.post("/sessions/passkey/options", summary="Start a passkey login")
def passkey_login_options(
    body: PasskeyOptionsIn, database: DatabaseDep, identity: IdentityDep
) -> CeremonyOut:
    with database.transaction() as session:
        ceremony = identity.logins.passkey_options(session, phone=body.phone)
    return CeremonyOut(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post("/sessions/passkey", status_code=status.HTTP_201_CREATED, summary="Log in with a passkey")
def login_with_passkey(
    body: PasskeyIn, request: Request, response: Response, database: DatabaseDep, identity: IdentityDep
) -> SessionOut:
    credential = json.dumps(body.credential)

    def work(session: Session) -> OpenedSession:
        return identity.logins.with_passkey(
            session,
            challenge_id=body.challenge_id,
            credential=credential,
            device_token=request.cookies.get(DEVICE_COOKIE),
            device_label=device_label(request),
        )

    return _opened(request, response, database, identity, counting(database, work))


@router.post("/sessions/certificate/challenge", summary="Start a certificate login: the document to sign")
def certificate_login_challenge(database: DatabaseDep, identity: IdentityDep) -> ChallengeOut:
    with database.transaction() as session:
        return ChallengeOut.of(identity.logins.certificate_challenge(session))


@router.post(
    "/sessions/certificate",
    status_code=status.HTTP_201_CREATED,
    summary="Log in with a certificate signature",
)
def login_with_certificate(
    body: SignedIn, request: Request, response: Response, database: DatabaseDep, identity: IdentityDep
) -> SessionOut:
    signed = decode_base64(body.signed_data)

    def work(session: Session) -> OpenedSession:
        return identity.logins.with_certificate(
            session,
            challenge_id=body.challenge_id,
            signed_data=signed,
            device_token=request.cookies.get(DEVICE_COOKIE),
            device_label=device_label(request),
        )

    return _opened(request, response, database, identity, counting(database, work))


@router.get("/session", summary="The current session: member, device, proofs and CSRF token")
def current_session(request: Request, member: CurrentMemberDep, identity: IdentityDep) -> SessionOut:
    return SessionOut.of(member, csrf_token_for(identity, request.cookies.get(SESSION_COOKIE, "")))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Log out")
def logout(request: Request, response: Response, database: DatabaseDep, identity: IdentityDep) -> None:
    member = current_member(request)
    with database.transaction() as session:
        identity.sessions.end(session, member)
    clear_session_cookies(request, response)
