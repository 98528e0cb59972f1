"""Passkeys and biometrics (WebAuthn) with py_webauthn: registration and authentication ceremonies.

Each ceremony starts with a random challenge stored here with a short expiry and used once. The
relying party id and the accepted origins come from the settings (`BACKBONE_WEBAUTHN_RP_ID`,
`BACKBONE_WEBAUTHN_ORIGINS`). User verification (the fingerprint, face or device PIN) is required,
because a passkey here replaces the PIN. Keys are ES256 or RS256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from backbone.identity import repository
from backbone.identity.attempts import recorded
from backbone.identity.domain import (
    CHALLENGE_TTL_S,
    DEVICE_LABEL_LENGTH_MAX,
    PASSKEY_RESPONSE_BYTES_MAX,
    PASSKEYS_PER_MEMBER_MAX,
    Factor,
    Member,
)
from backbone.identity.errors import (
    ChallengeExpired,
    ChallengeUsed,
    PasskeyAlreadyRegistered,
    PasskeyRejected,
    PayloadTooLarge,
    TooManyPasskeys,
    UnknownChallenge,
    UnknownPasskey,
)
from backbone.identity.repository import StoredPasskey, StoredWebauthnChallenge
from backbone.identity.service.attempts import AttemptLog
from backbone.kit.check import present
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
REGISTRATION = "registration"
AUTHENTICATION = "authentication"


@dataclass(frozen=True, slots=True)
class WebauthnConfig:
    rp_id: str
    rp_name: str
    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ceremony:
    """A started ceremony: its id, to send back with the response, and the options for the browser."""

    challenge_id: int
    options: dict[str, Any]


class Passkeys:
    def __init__(
        self, *, clock: Clock, ids: IdGenerator, config: WebauthnConfig, attempts: AttemptLog
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._config = config
        self._attempts = attempts

    # --- registration ---------------------------------------------------------------------------

    def registration_options(self, session: Session, member: Member) -> Ceremony:
        existing = repository.passkeys_of_member(session, member.id)
        if len(existing) >= PASSKEYS_PER_MEMBER_MAX:
            raise TooManyPasskeys(f"a member registers at most {PASSKEYS_PER_MEMBER_MAX} passkeys")
        options = generate_registration_options(
            rp_id=self._config.rp_id,
            rp_name=self._config.rp_name,
            user_id=str(member.id).encode(),
            user_name=member.phone,
            user_display_name=member.name,
            timeout=CHALLENGE_TTL_S * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id))
                for passkey in existing
            ],
            supported_pub_key_algs=ALGORITHMS,
        )
        challenge_id = self._store_challenge(session, member.id, REGISTRATION, options.challenge)
        return Ceremony(challenge_id=challenge_id, options=json.loads(options_to_json(options)))

    def register(
        self, session: Session, member: Member, *, challenge_id: int, credential: str, label: str
    ) -> StoredPasskey:
        _check_size(credential)
        challenge = self._take_challenge(session, challenge_id, REGISTRATION, member_id=member.id)
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(challenge.challenge),
                expected_rp_id=self._config.rp_id,
                expected_origin=list(self._config.origins),
                require_user_verification=True,
                supported_pub_key_algs=ALGORITHMS,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as error:
            self._attempts.record(
                session,
                member_id=member.id,
                factor=Factor.PASSKEY,
                reason=PasskeyRejected.code,
                reference=f"webauthn:{challenge.id}",
            )
            raise recorded(PasskeyRejected(f"the passkey registration does not verify: {error}")) from None
        credential_id = bytes_to_base64url(verified.credential_id)
        if repository.passkey_by_credential_id(session, credential_id) is not None:
            raise PasskeyAlreadyRegistered("this passkey is already registered")
        passkey_id = self._ids.next()
        repository.insert_passkey(
            session,
            passkey_id=passkey_id,
            member_id=member.id,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            aaguid=verified.aaguid,
            label=label.strip()[:DEVICE_LABEL_LENGTH_MAX] or "passkey",
            created_at=self._clock.now(),
        )
        log.info("identity.passkey_registered", member_id=member.id, passkey_id=passkey_id)
        return present(repository.passkey_by_credential_id(session, credential_id), "just inserted")

    # --- authentication -------------------------------------------------------------------------

    def authentication_options(self, session: Session, member: Member | None) -> Ceremony:
        """With a member, only their passkeys are offered; without, the browser offers any
        discoverable passkey for this site."""
        allowed = (
            [
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id))
                for passkey in repository.passkeys_of_member(session, member.id)
            ]
            if member is not None
            else []
        )
        options = generate_authentication_options(
            rp_id=self._config.rp_id,
            timeout=CHALLENGE_TTL_S * 1000,
            allow_credentials=allowed,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        challenge_id = self._store_challenge(
            session, None if member is None else member.id, AUTHENTICATION, options.challenge
        )
        return Ceremony(challenge_id=challenge_id, options=json.loads(options_to_json(options)))

    def authenticate(
        self, session: Session, *, challenge_id: int, credential: str
    ) -> tuple[Member, StoredPasskey]:
        """The member whose passkey signed the challenge. A bad signature, a counter that did not
        advance (a cloned authenticator), a wrong origin or challenge: refused and counted."""
        _check_size(credential)
        challenge = self._take_challenge(session, challenge_id, AUTHENTICATION, member_id=None)
        passkey = self._passkey_of(session, credential)
        reference = f"webauthn:{challenge.id}"
        if passkey is None or (challenge.member_id is not None and passkey.member_id != challenge.member_id):
            self._attempts.record(
                session,
                member_id=challenge.member_id,
                factor=Factor.PASSKEY,
                reason=UnknownPasskey.code,
                reference=reference,
            )
            raise recorded(UnknownPasskey("this passkey is not registered"))
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(challenge.challenge),
                expected_rp_id=self._config.rp_id,
                expected_origin=list(self._config.origins),
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as error:
            self._attempts.record(
                session,
                member_id=passkey.member_id,
                factor=Factor.PASSKEY,
                reason=PasskeyRejected.code,
                reference=reference,
            )
            log.warning("identity.passkey_rejected", member_id=passkey.member_id, passkey_id=passkey.id)
            raise recorded(PasskeyRejected(f"the passkey response was rejected: {error}")) from None
        if not repository.record_passkey_use(
            session,
            passkey.id,
            previous_count=passkey.sign_count,
            sign_count=verified.new_sign_count,
            now=self._clock.now(),
        ):
            raise ChallengeUsed("the passkey was used concurrently; try again")
        self._attempts.record(
            session,
            member_id=passkey.member_id,
            factor=Factor.PASSKEY,
            reason="verified",
            reference=reference,
            succeeded=True,
        )
        member = present(repository.member_by_id(session, passkey.member_id), "a passkey's member exists")
        return member, passkey

    # --- managing -------------------------------------------------------------------------------

    def passkeys_of(self, session: Session, member_id: int) -> list[StoredPasskey]:
        return repository.passkeys_of_member(session, member_id)

    def remove(self, session: Session, member_id: int, passkey_id: int) -> None:
        if not any(passkey.id == passkey_id for passkey in repository.passkeys_of_member(session, member_id)):
            raise UnknownPasskey(f"no passkey {passkey_id} of this member")
        repository.delete_passkey(session, passkey_id)
        log.info("identity.passkey_removed", member_id=member_id, passkey_id=passkey_id)

    # --- internals ------------------------------------------------------------------------------

    def _store_challenge(
        self, session: Session, member_id: int | None, ceremony: str, challenge: bytes
    ) -> int:
        now = self._clock.now()
        challenge_id = self._ids.next()
        repository.insert_webauthn_challenge(
            session,
            challenge_id=challenge_id,
            member_id=member_id,
            ceremony=ceremony,
            challenge=bytes_to_base64url(challenge),
            created_at=now,
            expires_at=now + timedelta(seconds=CHALLENGE_TTL_S),
        )
        return challenge_id

    def _take_challenge(
        self, session: Session, challenge_id: int, ceremony: str, *, member_id: int | None
    ) -> StoredWebauthnChallenge:
        challenge = repository.webauthn_challenge(session, challenge_id)
        if (
            challenge is None
            or challenge.ceremony != ceremony
            or (member_id is not None and challenge.member_id != member_id)
        ):
            raise UnknownChallenge(f"no {ceremony} ceremony {challenge_id}")
        now = self._clock.now()
        if challenge.used_at is not None:
            raise ChallengeUsed("this ceremony has already been answered; start again")
        if now >= challenge.expires_at:
            raise ChallengeExpired("the ceremony has expired; start again")
        if not repository.use_webauthn_challenge(session, challenge.id, now):
            raise ChallengeUsed("this ceremony has already been answered; start again")
        return challenge

    @staticmethod
    def _passkey_of(session: Session, credential: str) -> StoredPasskey | None:
        try:
            parsed = json.loads(credential)
            raw_id = parsed["rawId"] if isinstance(parsed, dict) else None
        except (ValueError, KeyError):
            return None
        if not isinstance(raw_id, str) or len(raw_id) > 400:
            return None
        return repository.passkey_by_credential_id(session, raw_id)


def _check_size(credential: str) -> None:
    if len(credential) > PASSKEY_RESPONSE_BYTES_MAX:
        raise PayloadTooLarge(f"a WebAuthn response is limited to {PASSKEY_RESPONSE_BYTES_MAX:,} bytes")
