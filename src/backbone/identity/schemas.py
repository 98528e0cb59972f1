"""API shapes of authentication. No secret a member typed or Backbone generated for checking (PIN,
code, session, device or flow token) is ever part of a response: tokens travel only in cookies.
Binary objects (CSR, CMS, documents) are base64 strings; certificates are PEM."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import BaseModel, ConfigDict, Field

from backbone.identity.domain import (
    CMS_BYTES_MAX,
    CSR_BYTES_MAX,
    PASSKEY_RESPONSE_BYTES_MAX,
    SIGNED_TEXT_LENGTH_MAX,
    ArsCall,
    CertificateStatus,
    Clearance,
    CurrentMember,
    IssuedCertificate,
    Member,
    RevocationReason,
    SigningChallenge,
    Term,
    Verification,
    masked_phone,
)
from backbone.identity.repository import OutboxMessage, StoredDevice, StoredPasskey, StoredSignature
from backbone.identity.service.certificates import CertificateStatusReport
from backbone.kit.clock import SEOUL

# Room for base64 (4/3) and PEM armour around the service's own byte limits, which give the
# precise error; these only stop absurd bodies before they are decoded.
CSR_TEXT_LENGTH_MAX = CSR_BYTES_MAX * 2
CMS_TEXT_LENGTH_MAX = CMS_BYTES_MAX * 2


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _seoul(instant: datetime | None) -> datetime | None:
    return None if instant is None else instant.astimezone(SEOUL)


# --- terms and sign-up --------------------------------------------------------------------------


class TermOut(Strict):
    code: str
    version: str
    title: str
    required: bool

    @classmethod
    def of(cls, term: Term) -> TermOut:
        return cls(code=term.code, version=term.version, title=term.title, required=term.required)


class SignupIn(Strict):
    accepted_terms: dict[str, str] = Field(
        description="Term code → the version accepted", examples=[{"service": "2026-01-01"}], max_length=20
    )


class IdentityClaimIn(Strict):
    name: str = Field(min_length=1, max_length=60, examples=["김민준"])
    birth_date: date
    phone: str = Field(min_length=10, max_length=13, examples=["010-1234-5678"])


class CodeIn(Strict):
    code: str = Field(min_length=1, max_length=12, description="The six digits received by SMS")


class VerificationOut(Strict):
    verification_id: int
    purpose: str
    status: str
    phone: str | None = Field(description="Masked: 010-****-5678")
    code_expires_at: datetime | None
    attempts_left: int
    resends_left: int
    expires_at: datetime

    @classmethod
    def of(cls, verification: Verification) -> VerificationOut:
        return cls(
            verification_id=verification.id,
            purpose=verification.purpose.value,
            status=verification.status.value,
            phone=None if verification.phone is None else masked_phone(verification.phone),
            code_expires_at=_seoul(verification.code_expires_at),
            attempts_left=verification.attempts_left,
            resends_left=verification.resends_left,
            expires_at=verification.expires_at.astimezone(SEOUL),
        )


class MemberDetailsIn(Strict):
    email: str = Field(min_length=3, max_length=254, examples=["minjun@example.com"])


class PinIn(Strict):
    pin: str = Field(min_length=1, max_length=12, description="Six digits")


class AcceptedTermOut(Strict):
    code: str
    version: str
    accepted_at: datetime


class MemberOut(Strict):
    id: int
    name: str
    birth_date: date
    phone: str
    email: str
    status: str
    joined_at: datetime
    pin_set: bool
    pin_locked: bool
    accepted_terms: list[AcceptedTermOut]

    @classmethod
    def of(cls, member: Member, terms: list[tuple[str, str, datetime]]) -> MemberOut:
        return cls(
            id=member.id,
            name=member.name,
            birth_date=member.birth_date,
            phone=masked_phone(member.phone),
            email=member.email,
            status=member.status.value,
            joined_at=member.joined_at.astimezone(SEOUL),
            pin_set=member.pin_set,
            pin_locked=member.pin_locked,
            accepted_terms=[
                AcceptedTermOut(code=code, version=version, accepted_at=at.astimezone(SEOUL))
                for code, version, at in terms
            ],
        )


# --- sessions -----------------------------------------------------------------------------------


class PinLoginIn(Strict):
    phone: str = Field(min_length=1, max_length=20)
    pin: str = Field(min_length=1, max_length=12)


class ProofOut(Strict):
    factor: str
    proven_at: datetime


class SessionOut(Strict):
    member_id: int
    name: str
    session_id: int
    device_id: int
    device_is_new: bool
    login_factor: str
    proofs: list[ProofOut]
    csrf_token: str = Field(description="Send it back as X-CSRF-Token on every state-changing request")

    @classmethod
    def of(cls, current: CurrentMember, csrf_token: str) -> SessionOut:
        return cls(
            member_id=current.member_id,
            name=current.name,
            session_id=current.session_id,
            device_id=current.device_id,
            device_is_new=current.device_is_new,
            login_factor=current.assurance.login_factor.value,
            proofs=[
                ProofOut(factor=factor.value, proven_at=at.astimezone(SEOUL))
                for factor, at in sorted(current.assurance.proven_at.items())
            ],
            csrf_token=csrf_token,
        )


# --- certificates and signatures ----------------------------------------------------------------


class CsrIn(Strict):
    csr: str = Field(
        min_length=1, max_length=CSR_TEXT_LENGTH_MAX, description="PEM, or base64 of DER; RSA-2048 or P-256"
    )
    extended: bool = Field(default=False, description="Three years instead of one")


class CertificateOut(Strict):
    serial: str
    subject: str
    key_algorithm: str
    not_before: datetime
    not_after: datetime
    status: CertificateStatus
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None
    certificate_pem: str

    @classmethod
    def of(cls, issued: IssuedCertificate, now: datetime) -> CertificateOut:
        pem = x509.load_der_x509_certificate(issued.certificate_der).public_bytes(Encoding.PEM).decode()
        return cls(
            serial=issued.serial,
            subject=issued.subject,
            key_algorithm=issued.key_algorithm,
            not_before=issued.not_before.astimezone(SEOUL),
            not_after=issued.not_after.astimezone(SEOUL),
            status=issued.status_at(now),
            revoked_at=_seoul(issued.revoked_at),
            revocation_reason=issued.revocation_reason,
            certificate_pem=pem,
        )


class RevokeIn(Strict):
    reason: RevocationReason = RevocationReason.UNSPECIFIED


class CertificateStatusOut(Strict):
    serial: str
    status: CertificateStatus
    not_before: datetime | None
    not_after: datetime | None
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None
    checked_at: datetime

    @classmethod
    def of(cls, report: CertificateStatusReport, now: datetime) -> CertificateStatusOut:
        return cls(
            serial=report.serial,
            status=report.status,
            not_before=_seoul(report.not_before),
            not_after=_seoul(report.not_after),
            revoked_at=_seoul(report.revoked_at),
            revocation_reason=report.revocation_reason,
            checked_at=now.astimezone(SEOUL),
        )


class ChallengeOut(Strict):
    challenge_id: int
    purpose: str
    text: str
    nonce: str
    document: str = Field(description="The exact bytes to sign (UTF-8 canonical JSON), base64")
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, challenge: SigningChallenge) -> ChallengeOut:
        return cls(
            challenge_id=challenge.id,
            purpose=challenge.purpose,
            text=challenge.text,
            nonce=challenge.nonce,
            document=base64.b64encode(challenge.document).decode(),
            issued_at=challenge.issued_at.astimezone(SEOUL),
            expires_at=challenge.expires_at.astimezone(SEOUL),
        )


class SignedIn(Strict):
    challenge_id: int
    signed_data: str = Field(
        min_length=1, max_length=CMS_TEXT_LENGTH_MAX, description="CMS SignedData (DER), base64"
    )


class SignatureOut(Strict):
    id: int
    purpose: str
    signing_time: datetime
    verified_at: datetime
    content_sha256: str
    signed_data: str = Field(description="The CMS as received, base64")

    @classmethod
    def of(cls, stored: StoredSignature) -> SignatureOut:
        return cls(
            id=stored.id,
            purpose=stored.purpose,
            signing_time=stored.signing_time.astimezone(SEOUL),
            verified_at=stored.verified_at.astimezone(SEOUL),
            content_sha256=stored.content_sha256,
            signed_data=base64.b64encode(stored.cms_der).decode(),
        )


class VerifiedSignatureOut(Strict):
    signature_id: int
    certificate_serial: str
    signing_time: datetime


# --- passkeys -----------------------------------------------------------------------------------


class PasskeyOptionsIn(Strict):
    phone: str | None = Field(default=None, max_length=20, description="Offer only this member's passkeys")


class CeremonyOut(Strict):
    challenge_id: int
    options: dict[str, Any] = Field(description="PublicKeyCredential{Creation,Request}Options as JSON")


class PasskeyIn(Strict):
    challenge_id: int
    credential: dict[str, Any] = Field(description="The PublicKeyCredential as JSON (toJSON())")
    label: str = Field(default="passkey", max_length=80)


class PasskeyOut(Strict):
    id: int
    label: str
    aaguid: str
    sign_count: int
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, passkey: StoredPasskey) -> PasskeyOut:
        return cls(
            id=passkey.id,
            label=passkey.label,
            aaguid=passkey.aaguid,
            sign_count=passkey.sign_count,
            created_at=passkey.created_at.astimezone(SEOUL),
            last_used_at=_seoul(passkey.last_used_at),
        )


# --- devices, ARS, step-up ----------------------------------------------------------------------


class DeviceOut(Strict):
    id: int
    label: str
    first_seen_at: datetime
    last_seen_at: datetime
    is_new: bool
    is_current: bool

    @classmethod
    def of(cls, device: StoredDevice, *, is_new: bool, current_device_id: int) -> DeviceOut:
        return cls(
            id=device.id,
            label=device.label,
            first_seen_at=device.first_seen_at.astimezone(SEOUL),
            last_seen_at=device.last_seen_at.astimezone(SEOUL),
            is_new=is_new,
            is_current=device.id == current_device_id,
        )


class ArsCallIn(Strict):
    text: str = Field(
        default="Backbone 추가 인증 (additional authentication)",
        min_length=1,
        max_length=SIGNED_TEXT_LENGTH_MAX,
    )


class ArsCallOut(Strict):
    call_id: int
    status: str
    phone: str
    expires_at: datetime
    confirmed_at: datetime | None
    digits: str | None = Field(
        description="Shown on screen for the member to key in; only when the call starts"
    )

    @classmethod
    def of(cls, call: ArsCall, digits: str | None = None) -> ArsCallOut:
        return cls(
            call_id=call.id,
            status=call.status.value,
            phone=masked_phone(call.phone),
            expires_at=call.expires_at.astimezone(SEOUL),
            confirmed_at=_seoul(call.confirmed_at),
            digits=digits,
        )


class KeypadIn(Strict):
    digits: str = Field(min_length=1, max_length=8)


class ClearanceOut(Strict):
    operation: str
    satisfied_by: str | None
    not_before: datetime

    @classmethod
    def of(cls, clearance: Clearance) -> ClearanceOut:
        return cls(
            operation=clearance.operation.value,
            satisfied_by=None if clearance.satisfied_by is None else clearance.satisfied_by.value,
            not_before=clearance.not_before.astimezone(SEOUL),
        )


class OutboxMessageOut(Strict):
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    reference: str
    created_at: datetime

    @classmethod
    def of(cls, message: OutboxMessage) -> OutboxMessageOut:
        return cls(
            id=message.id,
            channel=message.channel,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            reference=message.reference,
            created_at=message.created_at.astimezone(SEOUL),
        )


PASSKEY_JSON_LENGTH_MAX = PASSKEY_RESPONSE_BYTES_MAX
