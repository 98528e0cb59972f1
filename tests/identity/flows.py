"""Flows through the identity services, for tests that need a member, a session or a certificate
as a starting point rather than as the subject."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.serialization import Encoding

from backbone.bootstrap import Container
from backbone.identity import repository
from backbone.identity.client import KeyAlgorithm, generate_key, signing_request
from backbone.identity.cms import SigningKey
from backbone.identity.domain import TERMS, Factor, IssuedCertificate, Member, normalise_phone
from backbone.identity.service.sessions import OpenedSession

CODE_PATTERN = re.compile(r"\[(\d{6})\]")
NAME = "김민준"
BIRTH_DATE = date(1990, 5, 17)
PHONE = "010-1234-5678"
EMAIL = "minjun@example.com"
PIN = "739146"


def all_terms() -> dict[str, str]:
    return {term.code: term.version for term in TERMS}


def required_terms() -> dict[str, str]:
    return {term.code: term.version for term in TERMS if term.required}


def latest_code(container: Container, phone: str = PHONE) -> str:
    """The last code the development SMS adapter delivered to this phone."""
    with container.database.reading() as session:
        messages = repository.outbox_messages(
            session, recipient=normalise_phone(phone), channel="sms", limit=1
        )
    match = CODE_PATTERN.search(messages[-1].body)
    assert match is not None, messages
    return match.group(1)


def start_signup(
    container: Container, *, name: str = NAME, birth_date: date = BIRTH_DATE, phone: str = PHONE
) -> str:
    """Terms accepted and a code sent; returns the flow token."""
    identity = container.identity
    with container.database.transaction() as session:
        started = identity.members.start_signup(session, accepted_terms=all_terms())
        identity.members.send_signup_code(
            session, started.flow_token, name=name, birth_date=birth_date, phone=phone
        )
    return started.flow_token


def confirm(container: Container, flow_token: str, code: str, purpose: str = "signup") -> None:
    from backbone.identity.domain import VerificationPurpose  # noqa: PLC0415

    with container.database.transaction() as session:
        members = container.identity.members
        verification = members.verification_by_token(session, flow_token, VerificationPurpose(purpose))
        members.confirm_code(session, verification, code)


def sign_up(
    container: Container,
    *,
    name: str = NAME,
    birth_date: date = BIRTH_DATE,
    phone: str = PHONE,
    email: str = EMAIL,
    pin: str | None = PIN,
) -> Member:
    flow_token = start_signup(container, name=name, birth_date=birth_date, phone=phone)
    confirm(container, flow_token, latest_code(container, phone))
    with container.database.transaction() as session:
        member = container.identity.members.complete_signup(session, flow_token, email=email)
        if pin is not None:
            container.identity.members.set_pin(session, member, pin)
    with container.database.reading() as session:
        return container.identity.members.member(session, member.id)


def open_session(
    container: Container, member: Member, *, factor: Factor = Factor.SMS, device_token: str | None = None
) -> OpenedSession:
    with container.database.transaction() as session:
        return container.identity.sessions.open(
            session, member, factor=factor, reference="test", device_token=device_token, device_label="test"
        )


@dataclass(frozen=True)
class Holder:
    """A member's key and the certificate Backbone issued for it."""

    key: SigningKey
    certificate: IssuedCertificate

    @property
    def certificate_pem(self) -> bytes:
        from cryptography import x509  # noqa: PLC0415

        return x509.load_der_x509_certificate(self.certificate.certificate_der).public_bytes(Encoding.PEM)


def certify(
    container: Container,
    member: Member,
    algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
    *,
    extended: bool = False,
) -> Holder:
    key = generate_key(algorithm)
    with container.database.transaction() as session:
        issued = container.identity.authority.issue(session, member, signing_request(key), extended=extended)
    return Holder(key=key, certificate=issued)
