"""Authentication, pure: limits, the versioned terms, members' details, the rules of one-time codes
and PINs, the verification state machine, and the step-up policy table.

No database, web framework or schema library here; the services feed these rules what they read.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from backbone.identity.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeUsed,
    InvalidMemberDetails,
    InvalidPinFormat,
    StepUpRequired,
    TermsNotAccepted,
    VerificationExpired,
    VerificationStateConflict,
    WeakPin,
)
from backbone.kit.check import invariant, present

# --- limits (units last) ------------------------------------------------------------------------
SMS_CODE_LENGTH = 6
SMS_CODE_TTL_S = 180
SMS_CODE_ATTEMPTS_MAX = 5  # wrong codes over the whole verification, resends included
SMS_RESENDS_MAX = 3
VERIFICATION_TTL_S = 1_800  # a whole sign-up or PIN reset, from the first screen
PIN_LENGTH = 6
PIN_ATTEMPTS_MAX = 5
SESSION_IDLE_S = 1_800
SESSION_LIFETIME_S = 12 * 3_600
PROOF_FRESH_S = 300  # a step-up proof counts for this long
CERTIFICATE_PROOF_FRESH_S = 600  # identity verification before issuing a certificate
CHALLENGE_TTL_S = 300
CHALLENGE_ATTEMPTS_MAX = 3
SIGNING_CLOCK_SKEW_S = 60  # a signer's clock may run this far ahead of ours
SIGNED_TEXT_LENGTH_MAX = 20_000
PURPOSE_LENGTH_MAX = 64
ARS_CODE_LENGTH = 2
ARS_CALL_TTL_S = 180
ARS_ATTEMPTS_MAX = 3
CERTIFICATE_VALIDITY_DAYS = 365
CERTIFICATE_EXTENDED_VALIDITY_DAYS = 3 * 365
CERTIFICATES_ACTIVE_PER_MEMBER_MAX = 5
CSR_BYTES_MAX = 16_384
CMS_BYTES_MAX = 65_536
PASSKEY_RESPONSE_BYTES_MAX = 32_768
PASSKEYS_PER_MEMBER_MAX = 10
DEVICES_PER_MEMBER_MAX = 50
DEVICE_NEW_PERIOD_S = 72 * 3_600  # a device is "new" for three days after its first login
DEVICE_LABEL_LENGTH_MAX = 80
NAME_LENGTH_MAX = 60
EMAIL_LENGTH_MAX = 254
MEMBER_AGE_MIN_YEARS = 14  # younger people sign up with a guardian, which this portal does not do
WITHDRAWAL_STEP_UP_THRESHOLD_WON = 1_000_000
# Korea's delayed-transfer rule (지연이체): a large withdrawal from a new device waits this long
# after its proof, so a victim of voice phishing has time to notice and stop it.
WITHDRAWAL_NEW_DEVICE_WAITING_S = 3 * 3_600


# --- terms --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    code: str
    version: str
    title: str
    required: bool


# The versions in force. Publishing a new version means adding it here; acceptances of older
# versions stay recorded with the version the member saw.
TERMS: tuple[Term, ...] = (
    Term("service", "2026-01-01", "금융투자 핀테크포털 이용약관 (Terms of service)", required=True),
    Term(
        "privacy",
        "2026-01-01",
        "개인정보 수집·이용 동의 (Collection and use of personal data)",
        required=True,
    ),
    Term(
        "identification",
        "2026-01-01",
        "고유식별정보 처리 동의 (Processing of the personal identifier)",
        required=True,
    ),
    Term("marketing", "2026-01-01", "마케팅 정보 수신 동의 (Marketing messages, optional)", required=False),
)


def check_terms(accepted: Mapping[str, str]) -> tuple[Term, ...]:
    """The terms accepted (code → version), which must include every required term at its current
    version and nothing unknown or outdated."""
    current = {term.code: term for term in TERMS}
    for code, version in accepted.items():
        term = current.get(code)
        if term is None:
            raise TermsNotAccepted(f"there is no term {code!r}")
        if version != term.version:
            raise TermsNotAccepted(f"{code} is at version {term.version}, not {version}")
    missing = [term.code for term in TERMS if term.required and term.code not in accepted]
    if missing:
        raise TermsNotAccepted(f"these terms must be accepted: {', '.join(missing)}", missing=missing)
    return tuple(current[code] for code in sorted(accepted))


# --- members' details ---------------------------------------------------------------------------

PHONE_PATTERN = re.compile(r"^01[016789]\d{7,8}$")
EMAIL_PATTERN = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)


class MemberStatus(StrEnum):
    ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    personal_identifier: str
    name: str
    birth_date: date
    phone: str  # digits
    email: str
    status: MemberStatus
    joined_at: datetime
    pin_set: bool
    pin_failures: int

    @property
    def pin_locked(self) -> bool:
        return self.pin_failures >= PIN_ATTEMPTS_MAX


def normalise_name(name: str) -> str:
    cleaned = unicodedata.normalize("NFC", " ".join(name.split()))
    if not 1 <= len(cleaned) <= NAME_LENGTH_MAX or any(
        unicodedata.category(c).startswith("C") for c in cleaned
    ):
        raise InvalidMemberDetails(f"a name has 1 to {NAME_LENGTH_MAX} printable characters")
    return cleaned


def normalise_phone(phone: str) -> str:
    """The digits of a Korean mobile number: '010-1234-5678' → '01012345678'."""
    digits = phone.strip().replace("-", "").replace(" ", "")
    if not digits.isascii() or not PHONE_PATTERN.match(digits):
        raise InvalidMemberDetails("a phone number is a Korean mobile number such as 010-1234-5678")
    return digits


def display_phone(digits: str) -> str:
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def masked_phone(digits: str) -> str:
    """For screens and logs: 010-****-5678."""
    shown = display_phone(digits)
    head, _middle, tail = shown.split("-")
    return f"{head}-****-{tail}"


def check_birth_date(birth_date: date, today: date) -> date:
    years = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    if birth_date > today or years > 130:
        raise InvalidMemberDetails("the birth date is not plausible")
    if years < MEMBER_AGE_MIN_YEARS:
        raise InvalidMemberDetails(f"members are at least {MEMBER_AGE_MIN_YEARS} years old")
    return birth_date


def normalise_email(email: str) -> str:
    cleaned = email.strip()
    if len(cleaned) > EMAIL_LENGTH_MAX or not cleaned.isascii() or not EMAIL_PATTERN.match(cleaned):
        raise InvalidMemberDetails("the e-mail address is not valid")
    local, _, domain = cleaned.partition("@")
    return f"{local}@{domain.lower()}"


# --- PIN ----------------------------------------------------------------------------------------


def check_pin(pin: str, *, birth_date: date | None = None) -> str:
    """Six digits, and not one that a thief tries first."""
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise InvalidPinFormat(f"a PIN is {PIN_LENGTH} digits")
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(set(pin)) == 1 or steps in ({1}, {-1}):
        raise WeakPin("a PIN may not repeat one digit or count up or down")
    if birth_date is not None and pin in (birth_date.strftime("%y%m%d"), birth_date.strftime("%m%d%y")):
        raise WeakPin("a PIN may not be the birth date")
    return pin


# --- identity verification by SMS: a state machine ----------------------------------------------


class VerificationPurpose(StrEnum):
    SIGNUP = "signup"
    PIN_RESET = "pin_reset"  # unlocks a locked PIN: the person proves who they are again
    STEP_UP = "step_up"  # a logged-in member re-proves identity (before a certificate is issued)


class VerificationStatus(StrEnum):
    STARTED = "started"  # terms accepted, no code sent yet (sign-up only)
    CODE_SENT = "code_sent"
    VERIFIED = "verified"  # the code matched; the identity provider named the person
    COMPLETED = "completed"  # used: the member exists, or the PIN was reset
    FAILED = "failed"  # too many wrong codes


class VerificationEvent(StrEnum):
    SEND = "send"
    RESEND = "resend"
    CODE_MATCHED = "code_matched"
    CODE_ATTEMPTS_EXHAUSTED = "code_attempts_exhausted"
    COMPLETE = "complete"


VERIFICATION_TRANSITIONS: dict[tuple[VerificationStatus, VerificationEvent], VerificationStatus] = {
    (VerificationStatus.STARTED, VerificationEvent.SEND): VerificationStatus.CODE_SENT,
    (VerificationStatus.CODE_SENT, VerificationEvent.RESEND): VerificationStatus.CODE_SENT,
    (VerificationStatus.CODE_SENT, VerificationEvent.CODE_MATCHED): VerificationStatus.VERIFIED,
    (VerificationStatus.CODE_SENT, VerificationEvent.CODE_ATTEMPTS_EXHAUSTED): VerificationStatus.FAILED,
    (VerificationStatus.VERIFIED, VerificationEvent.COMPLETE): VerificationStatus.COMPLETED,
}


def next_verification_status(status: VerificationStatus, event: VerificationEvent) -> VerificationStatus:
    following = VERIFICATION_TRANSITIONS.get((status, event))
    if following is None:
        raise VerificationStateConflict(f"a verification that is {status.value} cannot {event.value}")
    return following


@dataclass(frozen=True, slots=True)
class Verification:
    id: int
    purpose: VerificationPurpose
    status: VerificationStatus
    member_id: int | None
    name: str | None
    birth_date: date | None
    phone: str | None
    personal_identifier: str | None
    code_expires_at: datetime | None
    code_attempts: int
    sends: int
    created_at: datetime
    expires_at: datetime

    @property
    def attempts_left(self) -> int:
        return max(0, SMS_CODE_ATTEMPTS_MAX - self.code_attempts)

    @property
    def resends_left(self) -> int:
        return max(0, 1 + SMS_RESENDS_MAX - self.sends)


def check_verification_alive(verification: Verification, now: datetime) -> None:
    if now >= verification.expires_at and verification.status is not VerificationStatus.COMPLETED:
        raise VerificationExpired("the verification has expired; start again")


def check_code_attempt(verification: Verification, now: datetime) -> None:
    """Whether a code may be tried at all, before comparing it. The order matters: a used code is
    reported as used even after it would have expired, and an exhausted verification stays so."""
    if verification.status in (VerificationStatus.VERIFIED, VerificationStatus.COMPLETED):
        raise CodeUsed("this code has already been used")
    if verification.status is VerificationStatus.FAILED:
        raise CodeAttemptsExhausted("too many wrong codes; start again", attempts_left=0)
    if verification.status is not VerificationStatus.CODE_SENT:
        raise VerificationStateConflict("no code has been sent yet")
    check_verification_alive(verification, now)
    code_expires_at = verification.code_expires_at
    invariant(code_expires_at is not None, "a sent code has an expiry")
    if code_expires_at is not None and now >= code_expires_at:
        raise CodeExpired("the code has expired; ask for a new one", resends_left=verification.resends_left)


# --- authentication factors, sessions and the step-up policy ------------------------------------


class Factor(StrEnum):
    """A kind of proof that the member is present."""

    SMS = "sms"  # identity verification by a code to the member's phone
    PIN = "pin"
    PASSKEY = "passkey"
    CERTIFICATE = "certificate"  # a CMS signature with a Backbone certificate
    ARS = "ars"  # an automated call to the registered phone


LOGIN_FACTORS = frozenset({Factor.SMS, Factor.PIN, Factor.PASSKEY, Factor.CERTIFICATE})


class Operation(StrEnum):
    """What a member may ask to do; each has its entry in POLICY."""

    VIEW = "view"  # own details, devices, accounts, consents, balances
    MANAGE_SECURITY = "manage_security"  # PIN change, passkeys, devices, certificate revocation
    ISSUE_CERTIFICATE = "issue_certificate"
    SIGN_CONSENT = "sign_consent"  # platform↔firm and fintech↔firm consents
    LINK_ACCOUNT = "link_account"  # a new account linked to the platform
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True, slots=True)
class Requirement:
    """Proof that satisfies an operation: any one factor of `any_of` proven within `fresh_s`
    seconds (an empty `any_of` means a live session is enough); the operation may then run only
    `waiting_s` seconds after that proof."""

    any_of: frozenset[Factor]
    fresh_s: int = PROOF_FRESH_S
    waiting_s: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    """A requirement that applies when its conditions hold (None: regardless)."""

    requirement: Requirement
    amount_above_won: int | None = None
    new_device: bool | None = None

    def applies(self, *, amount_won: int | None, device_is_new: bool) -> bool:
        if self.new_device is not None and self.new_device != device_is_new:
            return False
        return self.amount_above_won is None or (
            amount_won is not None and amount_won > self.amount_above_won
        )


SESSION_ONLY = Requirement(frozenset())
SIMPLE = frozenset({Factor.PIN, Factor.PASSKEY, Factor.CERTIFICATE, Factor.SMS})
SIGNATURE_OR_ARS = frozenset({Factor.CERTIFICATE, Factor.ARS})

# The one table of who needs what. Rules are tried in order; the first that applies decides.
POLICY: dict[Operation, tuple[Rule, ...]] = {
    Operation.VIEW: (Rule(SESSION_ONLY),),
    Operation.MANAGE_SECURITY: (Rule(Requirement(SIMPLE)),),
    Operation.ISSUE_CERTIFICATE: (
        Rule(Requirement(frozenset({Factor.SMS}), fresh_s=CERTIFICATE_PROOF_FRESH_S)),
    ),
    Operation.SIGN_CONSENT: (Rule(Requirement(SIGNATURE_OR_ARS)),),
    Operation.LINK_ACCOUNT: (
        Rule(Requirement(SIGNATURE_OR_ARS), new_device=True),
        Rule(Requirement(frozenset({Factor.PIN, Factor.PASSKEY, Factor.CERTIFICATE, Factor.ARS}))),
    ),
    Operation.WITHDRAWAL: (
        Rule(
            Requirement(frozenset({Factor.CERTIFICATE}), waiting_s=WITHDRAWAL_NEW_DEVICE_WAITING_S),
            amount_above_won=WITHDRAWAL_STEP_UP_THRESHOLD_WON,
            new_device=True,
        ),
        Rule(Requirement(SIGNATURE_OR_ARS), amount_above_won=WITHDRAWAL_STEP_UP_THRESHOLD_WON),
        Rule(Requirement(frozenset({Factor.PIN, Factor.PASSKEY, Factor.CERTIFICATE, Factor.ARS}))),
    ),
}


@dataclass(frozen=True, slots=True)
class Assurance:
    """What a session has proven: the factor it logged in with, and when each factor was last
    proven in it (the login counts as a proof at the session's start)."""

    login_factor: Factor
    proven_at: Mapping[Factor, datetime] = field(default_factory=dict)

    def fresh(self, now: datetime, fresh_s: int) -> dict[Factor, datetime]:
        horizon = now - timedelta(seconds=fresh_s)
        return {factor: at for factor, at in self.proven_at.items() if at >= horizon}


@dataclass(frozen=True, slots=True)
class Clearance:
    """Permission to run an operation, from `not_before` on (now, unless a waiting period applies)."""

    operation: Operation
    satisfied_by: Factor | None
    not_before: datetime


def rule_for(operation: Operation, *, amount_won: int | None, device_is_new: bool) -> Rule:
    applicable = (
        rule for rule in POLICY[operation] if rule.applies(amount_won=amount_won, device_is_new=device_is_new)
    )
    return present(
        next(applicable, None), f"the policy of {operation.value} ends with a rule that always applies"
    )


def decide(
    operation: Operation,
    assurance: Assurance,
    *,
    now: datetime,
    device_is_new: bool,
    amount_won: int | None = None,
) -> Clearance:
    """Clear the operation or raise StepUpRequired naming the factors that would clear it."""
    requirement = rule_for(operation, amount_won=amount_won, device_is_new=device_is_new).requirement
    if not requirement.any_of:
        return Clearance(operation=operation, satisfied_by=None, not_before=now)
    fresh = {
        factor: at
        for factor, at in assurance.fresh(now, requirement.fresh_s).items()
        if factor in requirement.any_of
    }
    if not fresh:
        accepted = sorted(factor.value for factor in requirement.any_of)
        raise StepUpRequired(
            f"{operation.value} needs one of {', '.join(accepted)} within the last "
            f"{requirement.fresh_s // 60} minutes",
            operation=operation.value,
            accepted=accepted,
            fresh_s=requirement.fresh_s,
        )
    factor, proven_at = max(fresh.items(), key=lambda item: item[1])
    return Clearance(
        operation=operation,
        satisfied_by=factor,
        not_before=max(now, proven_at + timedelta(seconds=requirement.waiting_s)),
    )


def device_is_new(first_seen_at: datetime, now: datetime) -> bool:
    return now - first_seen_at < timedelta(seconds=DEVICE_NEW_PERIOD_S)


# --- certificates -------------------------------------------------------------------------------


class CertificateStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class RevocationReason(StrEnum):
    """RFC 5280 reasons a member or the operator may give."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "key_compromise"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessation_of_operation"


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    id: int
    member_id: int
    serial: str  # lower-case hex
    subject: str
    key_algorithm: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None
    certificate_der: bytes

    def status_at(self, now: datetime) -> CertificateStatus:
        if self.revoked_at is not None and self.revoked_at <= now:
            return CertificateStatus.REVOKED
        if not self.not_before <= now < self.not_after:
            return CertificateStatus.EXPIRED
        return CertificateStatus.GOOD


def certificate_validity_days(*, extended: bool) -> int:
    return CERTIFICATE_EXTENDED_VALIDITY_DAYS if extended else CERTIFICATE_VALIDITY_DAYS


# --- signing challenges and ARS -----------------------------------------------------------------


class ChallengeStatus(StrEnum):
    OPEN = "open"
    USED = "used"
    FAILED = "failed"  # too many bad signatures against it


@dataclass(frozen=True, slots=True)
class SigningChallenge:
    """A document the server asked a member to sign: `document` is the exact UTF-8 canonical
    JSON of (nonce, text, time) that the CMS must carry."""

    id: int
    member_id: int | None
    purpose: str
    text: str
    nonce: str
    document: bytes
    issued_at: datetime
    expires_at: datetime
    status: ChallengeStatus
    attempts: int


class ArsStatus(StrEnum):
    CALLING = "calling"
    CONFIRMED = "confirmed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ArsCall:
    id: int
    member_id: int
    purpose: str
    text: str
    phone: str
    status: ArsStatus
    attempts: int
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None


def check_purpose(purpose: str) -> str:
    if not 1 <= len(purpose) <= PURPOSE_LENGTH_MAX or not purpose.isascii() or not purpose.isprintable():
        raise InvalidMemberDetails(f"a purpose is 1 to {PURPOSE_LENGTH_MAX} printable ASCII characters")
    return purpose


def check_signed_text(text: str) -> str:
    if not 1 <= len(text) <= SIGNED_TEXT_LENGTH_MAX:
        raise InvalidMemberDetails(f"a text to sign has 1 to {SIGNED_TEXT_LENGTH_MAX} characters")
    return text


# --- who is asking ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrentMember:
    """The member behind a live portal session, as other domains' endpoints receive it."""

    member_id: int
    personal_identifier: str
    name: str
    session_id: int
    device_id: int
    device_is_new: bool
    assurance: Assurance
