"""The member's own account: details, PIN, step-up proofs, devices, passkeys, certificates and kept
signatures, and ARS calls. Every route needs a session; state changes also need the CSRF header;
security changes need the assurance `domain.POLICY` gives their operation."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from backbone.identity.attempts import counting
from backbone.identity.dependencies import CurrentMemberDep, requires
from backbone.identity.domain import CurrentMember, Factor, Operation, device_is_new
from backbone.identity.endpoints.common import ClockDep, DatabaseDep, IdentityDep, decode_base64
from backbone.identity.errors import UnknownPasskey
from backbone.identity.schemas import (
    ArsCallIn,
    ArsCallOut,
    CeremonyOut,
    CertificateOut,
    ChallengeOut,
    ClearanceOut,
    CodeIn,
    CsrIn,
    DeviceOut,
    MemberOut,
    PasskeyIn,
    PasskeyOut,
    PinIn,
    RevokeIn,
    SignatureOut,
    SignedIn,
    VerificationOut,
    VerifiedSignatureOut,
)

router = APIRouter(prefix="/me", tags=["identity: my account"])
STEP_UP_PURPOSE = "step-up"
STEP_UP_TEXT = "Backbone 추가 인증: 본인임을 확인합니다 (step-up authentication)"
ManagingMember = Annotated[CurrentMember, requires(Operation.MANAGE_SECURITY)]
IssuingMember = Annotated[CurrentMember, requires(Operation.ISSUE_CERTIFICATE)]


@router.get("", summary="My details and accepted terms")
def me(member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep) -> MemberOut:
    with database.reading() as session:
        details = identity.members.member(session, member.member_id)
        return MemberOut.of(details, identity.members.accepted_terms(session, member.member_id))


@router.get("/step-up/{operation}", summary="Whether an operation is cleared now, or what it needs")
def clearance(
    operation: Operation,
    member: CurrentMemberDep,
    identity: IdentityDep,
    amount_won: Annotated[int | None, Query(ge=0, le=10**15)] = None,
) -> ClearanceOut:
    return ClearanceOut.of(identity.step_up.require(member, operation, amount_won=amount_won))


# --- PIN ----------------------------------------------------------------------------------------


@router.put("/pin", status_code=status.HTTP_204_NO_CONTENT, summary="Set or change my PIN")
def set_pin(body: PinIn, member: ManagingMember, database: DatabaseDep, identity: IdentityDep) -> None:
    with database.transaction() as session:
        identity.members.set_pin(session, identity.members.member(session, member.member_id), body.pin)


@router.post("/step-up/pin", status_code=status.HTTP_204_NO_CONTENT, summary="Prove presence with my PIN")
def step_up_with_pin(
    body: PinIn, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> None:
    def work(session: Session) -> None:
        details = identity.members.member(session, member.member_id)
        identity.members.check_pin(session, details, body.pin, reference=f"session:{member.session_id}")
        identity.sessions.add_proof(session, member.session_id, Factor.PIN, "step-up:pin")

    counting(database, work)


# --- identity verification again (SMS to my phone) ----------------------------------------------


@router.post("/verification", status_code=status.HTTP_201_CREATED, summary="Verify my identity by SMS again")
def start_verification(
    member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        return VerificationOut.of(identity.members.start_step_up(session, details))


@router.post("/verification/{verification_id}/resend", summary="Send a new code (limited)")
def resend_verification(
    verification_id: int, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    with database.transaction() as session:
        verification = identity.members.verification_of_member(session, verification_id, member.member_id)
        return VerificationOut.of(identity.members.resend_code(session, verification))


@router.post(
    "/verification/{verification_id}/confirm", summary="Confirm the code: an SMS proof in this session"
)
def confirm_verification(
    verification_id: int, body: CodeIn, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> VerificationOut:
    def work(session: Session) -> VerificationOut:
        verification = identity.members.verification_of_member(session, verification_id, member.member_id)
        confirmed = identity.members.confirm_code(session, verification, body.code)
        identity.sessions.add_proof(session, member.session_id, Factor.SMS, f"verification:{verification_id}")
        return VerificationOut.of(identity.members.complete_step_up(session, confirmed))

    return counting(database, work)


# --- certificate signature as a step-up ---------------------------------------------------------


@router.post("/step-up/certificate/challenge", summary="The document to sign to prove presence")
def step_up_certificate_challenge(
    member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> ChallengeOut:
    with database.transaction() as session:
        return ChallengeOut.of(
            identity.signing.issue(
                session, purpose=STEP_UP_PURPOSE, text=STEP_UP_TEXT, member_id=member.member_id
            )
        )


@router.post(
    "/step-up/certificate", summary="Answer with the CMS signature: a certificate proof in this session"
)
def step_up_with_certificate(
    body: SignedIn, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> VerifiedSignatureOut:
    signed = decode_base64(body.signed_data)

    def work(session: Session) -> VerifiedSignatureOut:
        verified = identity.signing.verify(
            session, challenge_id=body.challenge_id, signed_data=signed, member_id=member.member_id
        )
        identity.sessions.add_proof(
            session, member.session_id, Factor.CERTIFICATE, f"signature:{verified.signature_id}"
        )
        return VerifiedSignatureOut(
            signature_id=verified.signature_id,
            certificate_serial=verified.certificate_serial,
            signing_time=verified.signing_time,
        )

    return counting(database, work)


# --- passkeys -----------------------------------------------------------------------------------


@router.get("/passkeys", summary="My passkeys")
def passkeys(member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep) -> list[PasskeyOut]:
    with database.reading() as session:
        return [
            PasskeyOut.of(passkey) for passkey in identity.passkeys.passkeys_of(session, member.member_id)
        ]


@router.post("/passkeys/options", summary="Start registering a passkey")
def passkey_registration_options(
    member: ManagingMember, database: DatabaseDep, identity: IdentityDep
) -> CeremonyOut:
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        ceremony = identity.passkeys.registration_options(session, details)
    return CeremonyOut(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post("/passkeys", status_code=status.HTTP_201_CREATED, summary="Register the passkey")
def register_passkey(
    body: PasskeyIn, member: ManagingMember, database: DatabaseDep, identity: IdentityDep
) -> PasskeyOut:
    credential = json.dumps(body.credential)

    def work(session: Session) -> PasskeyOut:
        details = identity.members.member(session, member.member_id)
        return PasskeyOut.of(
            identity.passkeys.register(
                session, details, challenge_id=body.challenge_id, credential=credential, label=body.label
            )
        )

    return counting(database, work)


@router.delete("/passkeys/{passkey_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a passkey")
def remove_passkey(
    passkey_id: int, member: ManagingMember, database: DatabaseDep, identity: IdentityDep
) -> None:
    with database.transaction() as session:
        identity.passkeys.remove(session, member.member_id, passkey_id)


@router.post("/step-up/passkey/options", summary="Start a passkey proof")
def step_up_passkey_options(
    member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> CeremonyOut:
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        ceremony = identity.passkeys.authentication_options(session, details)
    return CeremonyOut(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post(
    "/step-up/passkey", status_code=status.HTTP_204_NO_CONTENT, summary="A passkey proof in this session"
)
def step_up_with_passkey(
    body: PasskeyIn, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> None:
    credential = json.dumps(body.credential)

    def work(session: Session) -> None:
        owner, passkey = identity.passkeys.authenticate(
            session, challenge_id=body.challenge_id, credential=credential
        )
        if owner.id != member.member_id:
            raise UnknownPasskey("this passkey is not yours")
        identity.sessions.add_proof(session, member.session_id, Factor.PASSKEY, f"passkey:{passkey.id}")

    counting(database, work)


# --- devices ------------------------------------------------------------------------------------


@router.get("/devices", summary="The devices I have logged in from")
def devices(
    member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep, clock: ClockDep
) -> list[DeviceOut]:
    now = clock.now()
    with database.reading() as session:
        return [
            DeviceOut.of(
                device, is_new=device_is_new(device.first_seen_at, now), current_device_id=member.device_id
            )
            for device in identity.sessions.devices(session, member.member_id)
        ]


@router.delete(
    "/devices/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a device and end its sessions",
)
def remove_device(
    device_id: int, member: ManagingMember, database: DatabaseDep, identity: IdentityDep
) -> None:
    with database.transaction() as session:
        identity.sessions.remove_device(session, member.member_id, device_id)


# --- certificates and signatures ----------------------------------------------------------------


@router.get("/certificates", summary="My certificates")
def certificates(
    member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep, clock: ClockDep
) -> list[CertificateOut]:
    now = clock.now()
    with database.reading() as session:
        return [
            CertificateOut.of(issued, now)
            for issued in identity.authority.certificates_of(session, member.member_id)
        ]


@router.post(
    "/certificates",
    status_code=status.HTTP_201_CREATED,
    summary="Submit a CSR; receive a certificate (needs a fresh identity verification)",
)
def issue_certificate(
    body: CsrIn, member: IssuingMember, database: DatabaseDep, identity: IdentityDep, clock: ClockDep
) -> CertificateOut:
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        issued = identity.authority.issue(session, details, body.csr.encode(), extended=body.extended)
    return CertificateOut.of(issued, clock.now())


@router.post("/certificates/{serial}/revoke", summary="Revoke one of my certificates")
def revoke_certificate(
    serial: str,
    body: RevokeIn,
    member: ManagingMember,
    database: DatabaseDep,
    identity: IdentityDep,
    clock: ClockDep,
) -> CertificateOut:
    with database.transaction() as session:
        revoked = identity.authority.revoke(session, serial, reason=body.reason, member_id=member.member_id)
    return CertificateOut.of(revoked, clock.now())


@router.get("/signatures/{signature_id}", summary="A signature I made, as kept for non-repudiation")
def signature(
    signature_id: int, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> SignatureOut:
    with database.reading() as session:
        return SignatureOut.of(identity.signing.signature(session, signature_id, member_id=member.member_id))


# --- ARS ----------------------------------------------------------------------------------------


@router.post(
    "/ars-calls", status_code=status.HTTP_201_CREATED, summary="Call my phone; key in the digits shown"
)
def start_ars_call(
    body: ArsCallIn, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> ArsCallOut:
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        call, digits = identity.ars.call(
            session, member=details, purpose=STEP_UP_PURPOSE, text=body.text, session_id=member.session_id
        )
    return ArsCallOut.of(call, digits)


@router.get("/ars-calls/{call_id}", summary="Whether the call is confirmed")
def ars_call(
    call_id: int, member: CurrentMemberDep, database: DatabaseDep, identity: IdentityDep
) -> ArsCallOut:
    with database.reading() as session:
        return ArsCallOut.of(identity.ars.status(session, call_id, member_id=member.member_id))
