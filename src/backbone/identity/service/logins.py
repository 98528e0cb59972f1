"""Logging in: by phone and PIN, by passkey, or by certificate signature. Each opens a session on
the device the request came from (registering the device when it is new to this member)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backbone.identity import repository
from backbone.identity.attempts import recorded
from backbone.identity.domain import Factor, SigningChallenge, normalise_phone
from backbone.identity.errors import InvalidMemberDetails, LoginFailed
from backbone.identity.service.attempts import AttemptLog
from backbone.identity.service.members import Members
from backbone.identity.service.passkeys import Ceremony, Passkeys
from backbone.identity.service.sessions import OpenedSession, Sessions
from backbone.identity.service.signing import Signing

LOGIN_PURPOSE = "login"
LOGIN_TEXT = "Backbone 금융투자 핀테크포털 로그인 (log in to the Backbone portal)"


class Logins:
    def __init__(
        self,
        *,
        members: Members,
        sessions: Sessions,
        passkeys: Passkeys,
        signing: Signing,
        attempts: AttemptLog,
    ) -> None:
        self._members = members
        self._sessions = sessions
        self._passkeys = passkeys
        self._signing = signing
        self._attempts = attempts

    def with_pin(
        self, session: Session, *, phone: str, pin: str, device_token: str | None, device_label: str
    ) -> OpenedSession:
        try:
            digits = normalise_phone(phone)
        except InvalidMemberDetails:
            digits = ""
        member = repository.member_by_phone(session, digits) if digits else None
        if member is None or not member.pin_set:
            # The same answer, after the same argon2 work, whether the phone is unknown or has no
            # PIN yet: neither the reply nor its timing tells who is a member.
            self._members.spend_pin_check(pin)
            self._attempts.record(
                session,
                member_id=None if member is None else member.id,
                factor=Factor.PIN,
                reason=LoginFailed.code,
                reference="login:pin",
            )
            raise recorded(LoginFailed("the phone number or the PIN is wrong"))
        self._members.check_pin(session, member, pin, reference="login:pin")
        return self._sessions.open(
            session,
            member,
            factor=Factor.PIN,
            reference="login:pin",
            device_token=device_token,
            device_label=device_label,
        )

    def passkey_options(self, session: Session, *, phone: str | None) -> Ceremony:
        member = None
        if phone:
            try:
                member = repository.member_by_phone(session, normalise_phone(phone))
            except InvalidMemberDetails:
                member = None
        return self._passkeys.authentication_options(session, member)

    def with_passkey(
        self,
        session: Session,
        *,
        challenge_id: int,
        credential: str,
        device_token: str | None,
        device_label: str,
    ) -> OpenedSession:
        member, passkey = self._passkeys.authenticate(
            session, challenge_id=challenge_id, credential=credential
        )
        return self._sessions.open(
            session,
            member,
            factor=Factor.PASSKEY,
            reference=f"passkey:{passkey.id}",
            device_token=device_token,
            device_label=device_label,
        )

    def certificate_challenge(self, session: Session) -> SigningChallenge:
        return self._signing.issue(session, purpose=LOGIN_PURPOSE, text=LOGIN_TEXT)

    def with_certificate(
        self,
        session: Session,
        *,
        challenge_id: int,
        signed_data: bytes,
        device_token: str | None,
        device_label: str,
    ) -> OpenedSession:
        challenge = self._signing.challenge(session, challenge_id)
        if challenge.purpose != LOGIN_PURPOSE:
            raise LoginFailed("this challenge is not a login challenge")
        verified = self._signing.verify(session, challenge_id=challenge_id, signed_data=signed_data)
        member = self._members.member(session, verified.member_id)
        return self._sessions.open(
            session,
            member,
            factor=Factor.CERTIFICATE,
            reference=f"signature:{verified.signature_id}",
            device_token=device_token,
            device_label=device_label,
        )
