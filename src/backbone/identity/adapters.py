"""The world outside: SMS, e-mail, the identity provider and ARS, as interfaces with development
implementations that deliver into the outbox table (`backbone outbox list` reads it).

A production installation plugs in its carriers' and identity provider's adapters here. The
development ones are complete behaviour, not stubs: they deliver every message, derive the same
personal identifier for the same person as the demo firms did, and the ARS "phone" answers when
someone keys digits in for it (`POST /api/v1/identity/dev/ars/{call}/keypad` or
`backbone outbox keypad`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

from backbone.identity import repository
from backbone.identity.personal_identifier import development_personal_identifier
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    ARS = "ars"


class SmsSender(Protocol):
    def send(self, session: Session, *, phone: str, text: str, reference: str) -> None: ...


class EmailSender(Protocol):
    def send(self, session: Session, *, to: str, subject: str, body: str, reference: str) -> None: ...


class ArsCaller(Protocol):
    def call(self, session: Session, *, phone: str, script: str, reference: str) -> None:
        """Ring the phone and read the script; the digits keyed in come back through
        `Ars.keypad`, which a real carrier reaches by its callback."""
        ...


class IdentityProvider(Protocol):
    def personal_identifier(self, *, name: str, birth_date: date, phone: str) -> str:
        """The stable 88-character identifier of the person who owns this phone (like Korea's CI),
        or IdentityProviderRefused."""
        ...


class Outbox:
    """The development carrier: every message is a row, read by people, demos and tests."""

    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    def deliver(
        self, session: Session, *, channel: Channel, recipient: str, subject: str, body: str, reference: str
    ) -> None:
        repository.insert_outbox_message(
            session,
            message_id=self._ids.next(),
            channel=channel.value,
            recipient=recipient,
            subject=subject,
            body=body,
            reference=reference,
            created_at=self._clock.now(),
        )


class OutboxSms:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def send(self, session: Session, *, phone: str, text: str, reference: str) -> None:
        self._outbox.deliver(
            session, channel=Channel.SMS, recipient=phone, subject="SMS", body=text, reference=reference
        )


class OutboxEmail:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def send(self, session: Session, *, to: str, subject: str, body: str, reference: str) -> None:
        self._outbox.deliver(
            session, channel=Channel.EMAIL, recipient=to, subject=subject, body=body, reference=reference
        )


class OutboxArs:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def call(self, session: Session, *, phone: str, script: str, reference: str) -> None:
        self._outbox.deliver(
            session,
            channel=Channel.ARS,
            recipient=phone,
            subject="ARS call",
            body=script,
            reference=reference,
        )


class DevelopmentIdentityProvider:
    """Derives the identifier as the demo firms did, so a demo customer who signs up with the
    same name, birth date and phone is recognised at every firm."""

    def personal_identifier(self, *, name: str, birth_date: date, phone: str) -> str:
        return development_personal_identifier(name, birth_date, phone)


@dataclass(frozen=True, slots=True)
class Adapters:
    sms: SmsSender
    email: EmailSender
    ars: ArsCaller
    identity_provider: IdentityProvider
    development: bool  # the dev endpoints (outbox reading, ARS keypad) exist only then


def development_adapters(*, clock: Clock, ids: IdGenerator) -> Adapters:
    outbox = Outbox(clock=clock, ids=ids)
    return Adapters(
        sms=OutboxSms(outbox),
        email=OutboxEmail(outbox),
        ars=OutboxArs(outbox),
        identity_provider=DevelopmentIdentityProvider(),
        development=True,
    )
