"""Authentication's use cases, one class per responsibility, gathered in `Identity` for the
composition root. Services never commit; the request or command boundary does (and, for calls
that count failed attempts, `backbone.identity.attempts.counting`)."""

from __future__ import annotations

from dataclasses import dataclass

from backbone.identity.adapters import Adapters
from backbone.identity.service.ars import Ars
from backbone.identity.service.attempts import AttemptLog
from backbone.identity.service.certificates import CertificateAuthority
from backbone.identity.service.logins import Logins
from backbone.identity.service.members import Members
from backbone.identity.service.passkeys import Passkeys, WebauthnConfig
from backbone.identity.service.sessions import Sessions
from backbone.identity.service.signing import Signing
from backbone.identity.service.step_up import StepUp
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator


@dataclass(frozen=True, slots=True)
class Identity:
    adapters: Adapters
    secret_key: bytes
    attempts: AttemptLog
    members: Members
    sessions: Sessions
    authority: CertificateAuthority
    signing: Signing
    passkeys: Passkeys
    ars: Ars
    logins: Logins
    step_up: StepUp


def build_identity(
    *, clock: Clock, ids: IdGenerator, adapters: Adapters, secret_key: bytes, webauthn: WebauthnConfig
) -> Identity:
    attempts = AttemptLog(clock=clock, ids=ids)
    members = Members(clock=clock, ids=ids, adapters=adapters, secret_key=secret_key, attempts=attempts)
    sessions = Sessions(clock=clock, ids=ids)
    authority = CertificateAuthority(clock=clock, ids=ids, secret_key=secret_key)
    signing = Signing(clock=clock, ids=ids, authority=authority, attempts=attempts)
    passkeys = Passkeys(clock=clock, ids=ids, config=webauthn, attempts=attempts)
    return Identity(
        adapters=adapters,
        secret_key=secret_key,
        attempts=attempts,
        members=members,
        sessions=sessions,
        authority=authority,
        signing=signing,
        passkeys=passkeys,
        ars=Ars(
            clock=clock,
            ids=ids,
            adapters=adapters,
            secret_key=secret_key,
            attempts=attempts,
            sessions=sessions,
        ),
        logins=Logins(
            members=members, sessions=sessions, passkeys=passkeys, signing=signing, attempts=attempts
        ),
        step_up=StepUp(clock=clock),
    )
