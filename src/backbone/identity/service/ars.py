"""ARS authentication: an automated call to the member's registered phone, on which the member
keys in the two digits shown on their screen.

    call, digits = identity.ars.call(session, member=m, purpose="consent:fintech-firm", text=t)
    # the portal shows `digits`; the phone rings (the dev adapter writes an ARS row to the outbox)
    identity.ars.keypad(session, call_id=call.id, digits="42")   # the carrier's callback (dev: outbox)
    identity.ars.confirmed(session, call_id=call.id, member_id=m.id)  # the caller checks the result

A wrong entry is counted; ARS_ATTEMPTS_MAX of them end the call. The digits are shown to the member
and never logged; only their HMAC is stored.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from backbone.identity import repository, tokens
from backbone.identity.adapters import Adapters
from backbone.identity.attempts import recorded
from backbone.identity.domain import (
    ARS_ATTEMPTS_MAX,
    ARS_CALL_TTL_S,
    ARS_CODE_LENGTH,
    ArsCall,
    ArsStatus,
    Factor,
    Member,
    check_purpose,
    check_signed_text,
    masked_phone,
)
from backbone.identity.errors import ArsCallOver, ArsDigitsWrong, ArsNotConfirmed, UnknownArsCall
from backbone.identity.service.attempts import AttemptLog
from backbone.identity.service.sessions import Sessions
from backbone.kit.check import present
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")
SCRIPT_SUMMARY_LENGTH_MAX = 200


class Ars:
    def __init__(
        self,
        *,
        clock: Clock,
        ids: IdGenerator,
        adapters: Adapters,
        secret_key: bytes,
        attempts: AttemptLog,
        sessions: Sessions,
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._adapters = adapters
        self._code_key = tokens.subkey(secret_key, "ars-code")
        self._attempts = attempts
        self._sessions = sessions

    def call(
        self, session: Session, *, member: Member, purpose: str, text: str, session_id: int | None = None
    ) -> tuple[ArsCall, str]:
        """Ring the member's registered phone; returns the call and the digits to show on screen.
        With session_id, a confirmed call also counts as an ARS proof in that session."""
        check_purpose(purpose)
        check_signed_text(text)
        now = self._clock.now()
        call_id = self._ids.next()
        digits = tokens.new_code(ARS_CODE_LENGTH)
        repository.insert_ars_call(
            session,
            call_id=call_id,
            member_id=member.id,
            session_id=session_id,
            purpose=purpose,
            text=text,
            phone=member.phone,
            code_hash=tokens.code_hash(self._code_key, str(call_id), digits),
            created_at=now,
            expires_at=now + timedelta(seconds=ARS_CALL_TTL_S),
        )
        summary = text if len(text) <= SCRIPT_SUMMARY_LENGTH_MAX else text[:SCRIPT_SUMMARY_LENGTH_MAX] + "…"
        self._adapters.ars.call(
            session,
            phone=member.phone,
            script=(
                f"Backbone ARS 인증입니다. {member.name}님, 다음 내용에 동의하시면 "
                f"화면에 표시된 두 자리 숫자를 눌러 주세요. 내용: {summary}"
            ),
            reference=f"ars:{call_id}",
        )
        log.info(
            "identity.ars_call_started",
            member_id=member.id,
            call_id=call_id,
            phone=masked_phone(member.phone),
        )
        return present(repository.ars_call(session, call_id), "just inserted"), digits

    def keypad(self, session: Session, *, call_id: int, digits: str) -> ArsCall:
        """The digits the person keyed in on the phone."""
        call = self._call(session, call_id)
        now = self._clock.now()
        if call.status is not ArsStatus.CALLING:
            raise ArsCallOver(f"the call is {call.status.value}; start a new one")
        if now >= call.expires_at:
            repository.finish_ars_call(session, call.id, status=ArsStatus.FAILED, now=now)
            raise ArsCallOver("the call timed out; start a new one")
        reference = f"ars:{call.id}"
        expected = repository.ars_code_hash(session, call.id)
        if not tokens.same(expected, tokens.code_hash(self._code_key, str(call.id), digits.strip())):
            attempts = repository.record_ars_failure(session, call.id)
            self._attempts.record(
                session,
                member_id=call.member_id,
                factor=Factor.ARS,
                reason=ArsDigitsWrong.code,
                reference=reference,
            )
            left = max(0, ARS_ATTEMPTS_MAX - attempts)
            if left == 0:
                repository.finish_ars_call(session, call.id, status=ArsStatus.FAILED, now=now)
            raise recorded(ArsDigitsWrong(f"the digits are wrong; {left} attempts left", attempts_left=left))
        if not repository.finish_ars_call(session, call.id, status=ArsStatus.CONFIRMED, now=now):
            raise ArsCallOver("the call is already over")
        self._attempts.record(
            session,
            member_id=call.member_id,
            factor=Factor.ARS,
            reason="verified",
            reference=reference,
            succeeded=True,
        )
        session_id = repository.ars_call_session(session, call.id)
        if session_id is not None:
            self._sessions.add_proof(session, session_id, Factor.ARS, reference)
        log.info("identity.ars_confirmed", member_id=call.member_id, call_id=call.id)
        return self._call(session, call.id)

    def status(self, session: Session, call_id: int, *, member_id: int) -> ArsCall:
        call = self._call(session, call_id)
        if call.member_id != member_id:
            raise UnknownArsCall(f"no ARS call {call_id}")
        if call.status is ArsStatus.CALLING and self._clock.now() >= call.expires_at:
            return replace(call, status=ArsStatus.FAILED)
        return call

    def confirmed(
        self, session: Session, call_id: int, *, member_id: int, purpose: str | None = None
    ) -> ArsCall:
        """The call, which must be the member's, confirmed, and for this purpose when one is given."""
        call = self.status(session, call_id, member_id=member_id)
        if call.status is not ArsStatus.CONFIRMED or (purpose is not None and call.purpose != purpose):
            raise ArsNotConfirmed(f"ARS call {call_id} is not confirmed")
        return call

    def _call(self, session: Session, call_id: int) -> ArsCall:
        call = repository.ars_call(session, call_id)
        if call is None:
            raise UnknownArsCall(f"no ARS call {call_id}")
        return call
