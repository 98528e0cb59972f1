"""Members: sign-up (terms, SMS identity verification, details, confirmation e-mail), the PIN, and
verifying identity again (to unlock a PIN, or before a certificate is issued).

Every verification is one row moving through `VERIFICATION_TRANSITIONS`; anonymous flows (sign-up,
PIN reset) are found by a random flow token the portal keeps in a cookie, a logged-in member's
step-up verification by its id and the member.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from backbone.identity import repository, tokens
from backbone.identity.adapters import Adapters
from backbone.identity.attempts import recorded
from backbone.identity.domain import (
    PIN_ATTEMPTS_MAX,
    SMS_CODE_ATTEMPTS_MAX,
    SMS_CODE_LENGTH,
    SMS_CODE_TTL_S,
    SMS_RESENDS_MAX,
    VERIFICATION_TTL_S,
    Factor,
    Member,
    Verification,
    VerificationEvent,
    VerificationPurpose,
    VerificationStatus,
    check_birth_date,
    check_code_attempt,
    check_pin,
    check_terms,
    check_verification_alive,
    masked_phone,
    next_verification_status,
    normalise_email,
    normalise_name,
    normalise_phone,
)
from backbone.identity.errors import (
    AlreadyMember,
    CodeAttemptsExhausted,
    CodeWrong,
    IdentityMismatch,
    PhoneInUse,
    PinLocked,
    PinNotSet,
    PinWrong,
    ResendsExhausted,
    UnknownMember,
    UnknownVerification,
    VerificationStateConflict,
)
from backbone.identity.service.attempts import AttemptLog
from backbone.kit.check import invariant, present
from backbone.kit.clock import Clock, seoul_date
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")

# OWASP's argon2id floor (19 MiB, two passes, one lane): ~20 ms a check on a small server.
PIN_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
UNUSABLE_PIN_HASH = PIN_HASHER.hash("no member has this PIN: it is not six digits")


@dataclass(frozen=True, slots=True)
class StartedVerification:
    verification: Verification
    flow_token: str  # for the portal's cookie; never logged, stored only as a hash


class Members:
    def __init__(
        self, *, clock: Clock, ids: IdGenerator, adapters: Adapters, secret_key: bytes, attempts: AttemptLog
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._adapters = adapters
        self._code_key = tokens.subkey(secret_key, "sms-code")
        self._attempts = attempts

    # --- reading --------------------------------------------------------------------------------

    def member(self, session: Session, member_id: int) -> Member:
        member = repository.member_by_id(session, member_id)
        if member is None:
            raise UnknownMember(f"no member {member_id}")
        return member

    def member_by_personal_identifier(self, session: Session, personal_identifier: str) -> Member | None:
        return repository.member_by_personal_identifier(session, personal_identifier)

    def accepted_terms(self, session: Session, member_id: int) -> list[tuple[str, str, datetime]]:
        return repository.term_acceptances_of_member(session, member_id)

    # --- sign-up --------------------------------------------------------------------------------

    def start_signup(self, session: Session, *, accepted_terms: Mapping[str, str]) -> StartedVerification:
        """Screen 2: the terms. Each acceptance is recorded with its version and time."""
        terms = check_terms(accepted_terms)
        started = self._start(session, VerificationPurpose.SIGNUP, member_id=None)
        now = self._clock.now()
        for term in terms:
            repository.insert_term_acceptance(
                session,
                acceptance_id=self._ids.next(),
                verification_id=started.verification.id,
                term_code=term.code,
                version=term.version,
                accepted_at=now,
            )
        log.info("identity.signup_started", verification_id=started.verification.id)
        return started

    def send_signup_code(
        self, session: Session, flow_token: str, *, name: str, birth_date: date, phone: str
    ) -> Verification:
        """Screen 3: the person's name, birth date and phone; a code goes to the phone."""
        verification = self.verification_by_token(session, flow_token, VerificationPurpose.SIGNUP)
        check_verification_alive(verification, self._clock.now())
        if verification.status is not VerificationStatus.STARTED:
            raise VerificationStateConflict("a code has already been sent; resend or confirm it")
        self._set_claimed_identity(session, verification.id, name=name, birth_date=birth_date, phone=phone)
        return self._send_code(session, verification.id, VerificationEvent.SEND)

    def complete_signup(self, session: Session, flow_token: str, *, email: str) -> Member:
        """Screen 4: member details. The member exists from here on; a confirmation e-mail goes out."""
        verification = self.verification_by_token(session, flow_token, VerificationPurpose.SIGNUP)
        check_verification_alive(verification, self._clock.now())
        status = next_verification_status(verification.status, VerificationEvent.COMPLETE)
        address = normalise_email(email)
        personal_identifier = present(verification.personal_identifier, "a verified sign-up names its person")
        if repository.member_by_personal_identifier(session, personal_identifier) is not None:
            raise AlreadyMember("this person is already a member; log in instead")
        phone = present(verification.phone, "a verified sign-up has a phone")
        if repository.member_by_phone(session, phone) is not None:
            raise PhoneInUse("another member has registered this phone number")
        now = self._clock.now()
        member_id = self._ids.next()
        repository.insert_member(
            session,
            member_id=member_id,
            personal_identifier=personal_identifier,
            name=present(verification.name, "a verified sign-up has a name"),
            birth_date=present(verification.birth_date, "a verified sign-up has a birth date"),
            phone=phone,
            email=address,
            joined_at=now,
        )
        repository.assign_term_acceptances(session, verification.id, member_id)
        repository.update_verification(
            session, verification.id, status=status, member_id=member_id, completed_at=now
        )
        member = self.member(session, member_id)
        self._adapters.email.send(
            session,
            to=address,
            subject="[Backbone] 회원가입이 완료되었습니다 (Welcome to Backbone)",
            body=(
                f"{member.name}님, 금융투자 핀테크포털 회원가입을 환영합니다.\n"
                f"가입일시: {now.isoformat()}\n휴대폰: {masked_phone(phone)}\n"
                "본인이 가입하지 않았다면 고객센터로 연락해 주세요."
            ),
            reference=f"member:{member_id}",
        )
        log.info("identity.member_joined", member_id=member_id, verification_id=verification.id)
        return member

    # --- codes (every purpose) ------------------------------------------------------------------

    def resend_code(self, session: Session, verification: Verification) -> Verification:
        check_verification_alive(verification, self._clock.now())
        if verification.status is not VerificationStatus.CODE_SENT:
            raise VerificationStateConflict("there is no code to resend")
        if verification.resends_left <= 0:
            raise ResendsExhausted(f"a code is resent at most {SMS_RESENDS_MAX} times; start again")
        return self._send_code(session, verification.id, VerificationEvent.RESEND)

    def confirm_code(self, session: Session, verification: Verification, code: str) -> Verification:
        """Check the code. A wrong one is counted (and committed by `counting`), the fifth ends the
        verification; the right one asks the identity provider who the person is."""
        now = self._clock.now()
        check_code_attempt(verification, now)
        stored = present(repository.verification_code_hash(session, verification.id), "a sent code")
        reference = f"verification:{verification.id}"
        if not tokens.same(stored, tokens.code_hash(self._code_key, str(verification.id), code.strip())):
            attempts = repository.record_code_failure(session, verification.id)
            self._attempts.record(
                session,
                member_id=verification.member_id,
                factor=Factor.SMS,
                reason=CodeWrong.code,
                reference=reference,
            )
            left = max(0, SMS_CODE_ATTEMPTS_MAX - attempts)
            if left == 0:
                repository.update_verification(
                    session,
                    verification.id,
                    status=next_verification_status(
                        verification.status, VerificationEvent.CODE_ATTEMPTS_EXHAUSTED
                    ),
                )
                raise recorded(CodeAttemptsExhausted("too many wrong codes; start again", attempts_left=0))
            raise recorded(CodeWrong(f"the code is wrong; {left} attempts left", attempts_left=left))
        personal_identifier = self._adapters.identity_provider.personal_identifier(
            name=present(verification.name, "a sent code has a name"),
            birth_date=present(verification.birth_date, "a sent code has a birth date"),
            phone=present(verification.phone, "a sent code has a phone"),
        )
        self._check_person(session, verification, personal_identifier)
        repository.update_verification(
            session,
            verification.id,
            status=next_verification_status(verification.status, VerificationEvent.CODE_MATCHED),
            personal_identifier=personal_identifier,
            verified_at=now,
        )
        self._attempts.record(
            session,
            member_id=verification.member_id,
            factor=Factor.SMS,
            reason="verified",
            reference=reference,
            succeeded=True,
        )
        log.info("identity.verified", verification_id=verification.id, purpose=verification.purpose.value)
        return present(repository.verification_by_id(session, verification.id), "just updated")

    def verification_by_token(
        self, session: Session, flow_token: str, purpose: VerificationPurpose
    ) -> Verification:
        verification = repository.verification_by_token_hash(session, tokens.token_hash(flow_token))
        if verification is None or verification.purpose is not purpose:
            raise UnknownVerification("no such verification is in progress; start again")
        return verification

    def verification_of_member(self, session: Session, verification_id: int, member_id: int) -> Verification:
        verification = repository.verification_by_id(session, verification_id)
        if (
            verification is None
            or verification.member_id != member_id
            or verification.purpose is not VerificationPurpose.STEP_UP
        ):
            raise UnknownVerification(f"no verification {verification_id} of this member")
        return verification

    # --- PIN ------------------------------------------------------------------------------------

    def set_pin(self, session: Session, member: Member, pin: str) -> None:
        check_pin(pin, birth_date=member.birth_date)
        repository.set_pin(session, member.id, hashed=PIN_HASHER.hash(pin), now=self._clock.now())
        log.info("identity.pin_set", member_id=member.id)

    def check_pin(self, session: Session, member: Member, pin: str, *, reference: str) -> None:
        """Verify the member's PIN. Wrong: counted and raised; the fifth wrong PIN locks it, and a
        locked PIN is refused (and counted) even when right, until identity is verified again."""
        repository.lock_member(session, member.id)
        member = self.member(session, member.id)  # the count as of the lock, not as of the caller's read
        hashed = repository.pin_hash(session, member.id)
        if hashed is None:
            raise PinNotSet("set a PIN first")
        if member.pin_locked:
            self._attempts.record(
                session, member_id=member.id, factor=Factor.PIN, reason=PinLocked.code, reference=reference
            )
            raise recorded(PinLocked("the PIN is locked; verify your identity by SMS to set a new one"))
        try:
            PIN_HASHER.verify(hashed, pin)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            failures = repository.record_pin_failure(session, member.id)
            self._attempts.record(
                session, member_id=member.id, factor=Factor.PIN, reason=PinWrong.code, reference=reference
            )
            if failures >= PIN_ATTEMPTS_MAX:
                log.warning("identity.pin_locked", member_id=member.id)
                raise recorded(
                    PinLocked("the PIN is now locked; verify your identity by SMS to set a new one")
                ) from None
            left = PIN_ATTEMPTS_MAX - failures
            raise recorded(PinWrong(f"the PIN is wrong; {left} attempts left", attempts_left=left)) from None
        if member.pin_failures:
            repository.clear_pin_failures(session, member.id)
        if PIN_HASHER.check_needs_rehash(hashed):
            repository.set_pin(session, member.id, hashed=PIN_HASHER.hash(pin), now=self._clock.now())
        self._attempts.record(
            session,
            member_id=member.id,
            factor=Factor.PIN,
            reason="verified",
            reference=reference,
            succeeded=True,
        )

    @staticmethod
    def spend_pin_check(pin: str) -> None:
        """Do the work of a PIN check against nothing, so a refusal takes as long either way."""
        with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
            PIN_HASHER.verify(UNUSABLE_PIN_HASH, pin)

    def start_pin_reset(
        self, session: Session, *, name: str, birth_date: date, phone: str
    ) -> StartedVerification:
        """A locked (or forgotten) PIN: the person verifies identity by SMS again."""
        started = self._start(session, VerificationPurpose.PIN_RESET, member_id=None)
        self._set_claimed_identity(
            session, started.verification.id, name=name, birth_date=birth_date, phone=phone
        )
        verification = self._send_code(session, started.verification.id, VerificationEvent.SEND)
        return StartedVerification(verification=verification, flow_token=started.flow_token)

    def complete_pin_reset(self, session: Session, flow_token: str, *, pin: str) -> Member:
        verification = self.verification_by_token(session, flow_token, VerificationPurpose.PIN_RESET)
        check_verification_alive(verification, self._clock.now())
        status = next_verification_status(verification.status, VerificationEvent.COMPLETE)
        member = self.member(
            session, present(verification.member_id, "a verified PIN reset names its member")
        )
        self.set_pin(session, member, pin)  # also clears the failures: the lock is gone
        repository.update_verification(
            session, verification.id, status=status, completed_at=self._clock.now()
        )
        log.info("identity.pin_reset", member_id=member.id)
        return self.member(session, member.id)

    # --- identity again, for a logged-in member -------------------------------------------------

    def start_step_up(self, session: Session, member: Member) -> Verification:
        started = self._start(session, VerificationPurpose.STEP_UP, member_id=member.id)
        repository.update_verification(
            session,
            started.verification.id,
            name=member.name,
            birth_date=member.birth_date,
            phone=member.phone,
        )
        return self._send_code(session, started.verification.id, VerificationEvent.SEND)

    def complete_step_up(self, session: Session, verification: Verification) -> Verification:
        status = next_verification_status(verification.status, VerificationEvent.COMPLETE)
        repository.update_verification(
            session, verification.id, status=status, completed_at=self._clock.now()
        )
        return present(repository.verification_by_id(session, verification.id), "just updated")

    # --- internals ------------------------------------------------------------------------------

    def _start(
        self, session: Session, purpose: VerificationPurpose, *, member_id: int | None
    ) -> StartedVerification:
        now = self._clock.now()
        flow_token = tokens.new_token()
        verification_id = self._ids.next()
        repository.insert_verification(
            session,
            verification_id=verification_id,
            purpose=purpose,
            token_hash=tokens.token_hash(flow_token),
            member_id=member_id,
            created_at=now,
            expires_at=now + timedelta(seconds=VERIFICATION_TTL_S),
        )
        verification = present(repository.verification_by_id(session, verification_id), "just inserted")
        return StartedVerification(verification=verification, flow_token=flow_token)

    def _set_claimed_identity(
        self, session: Session, verification_id: int, *, name: str, birth_date: date, phone: str
    ) -> None:
        repository.update_verification(
            session,
            verification_id,
            name=normalise_name(name),
            birth_date=check_birth_date(birth_date, seoul_date(self._clock.now())),
            phone=normalise_phone(phone),
        )

    def _send_code(self, session: Session, verification_id: int, event: VerificationEvent) -> Verification:
        verification = present(repository.verification_by_id(session, verification_id), "a verification")
        status = next_verification_status(verification.status, event)
        now = self._clock.now()
        code = tokens.new_code(SMS_CODE_LENGTH)
        repository.update_verification(
            session,
            verification_id,
            status=status,
            code_hash=tokens.code_hash(self._code_key, str(verification_id), code),
            code_expires_at=now + timedelta(seconds=SMS_CODE_TTL_S),
            sends=verification.sends + 1,
        )
        phone = present(verification.phone, "a code goes to a phone")
        self._adapters.sms.send(
            session,
            phone=phone,
            text=f"[Backbone] 본인확인 인증번호 [{code}]를 입력해 주세요. ({SMS_CODE_TTL_S // 60}분 이내)",
            reference=f"verification:{verification_id}",
        )
        log.info(
            "identity.code_sent",
            verification_id=verification_id,
            phone=masked_phone(phone),
            sends=verification.sends + 1,
        )
        return present(repository.verification_by_id(session, verification_id), "just updated")

    def _check_person(self, session: Session, verification: Verification, personal_identifier: str) -> None:
        """Who the provider says this is must fit what the verification is for."""
        if verification.purpose is VerificationPurpose.SIGNUP:
            if repository.member_by_personal_identifier(session, personal_identifier) is not None:
                raise AlreadyMember("this person is already a member; log in instead")
            return
        if verification.purpose is VerificationPurpose.PIN_RESET:
            member = repository.member_by_personal_identifier(session, personal_identifier)
            if member is None:
                raise IdentityMismatch("no member is registered for this person")
            repository.update_verification(session, verification.id, member_id=member.id)
            return
        member = self.member(
            session, present(verification.member_id, "a step-up verification has its member")
        )
        invariant(verification.purpose is VerificationPurpose.STEP_UP, "three purposes")
        if member.personal_identifier != personal_identifier:
            raise IdentityMismatch("the phone's owner is not this member")
