"""Passkeys with a software authenticator (real P-256 keys, real attestation and assertion
structures): registration, login, and refusals for a bad signature, a counter that did not advance,
a wrong origin, a missing user verification, an unknown credential and a reused ceremony."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backbone.bootstrap import Container
from backbone.identity import repository
from backbone.identity.attempts import counting
from backbone.identity.domain import Factor, Member
from backbone.identity.errors import ChallengeUsed, PasskeyRejected, UnknownPasskey
from backbone.identity.service.passkeys import Ceremony
from backbone.identity.service.sessions import OpenedSession
from tests.identity import flows
from tests.identity.authenticator import SoftwareAuthenticator


def register(container: Container, member: Member, authenticator: SoftwareAuthenticator) -> None:
    with container.database.transaction() as session:
        ceremony = container.identity.passkeys.registration_options(session, member)
    with container.database.transaction() as session:
        container.identity.passkeys.register(
            session,
            member,
            challenge_id=ceremony.challenge_id,
            credential=authenticator.register(ceremony.options),
            label="phone",
        )


def options(container: Container, phone: str | None = flows.PHONE) -> Ceremony:
    with container.database.transaction() as session:
        return container.identity.logins.passkey_options(session, phone=phone)


def login(container: Container, ceremony: Ceremony, credential: str) -> OpenedSession:
    return counting(
        container.database,
        lambda session: container.identity.logins.with_passkey(
            session,
            challenge_id=ceremony.challenge_id,
            credential=credential,
            device_token=None,
            device_label="t",
        ),
    )


def failed_passkey_attempts(container: Container, member: Member) -> int:
    with container.database.reading() as session:
        return sum(
            1
            for factor, succeeded, _ in repository.attempts_of_member(session, member.id)
            if factor is Factor.PASSKEY and not succeeded
        )


@pytest.fixture
def member(container: Container) -> Member:
    return flows.sign_up(container)


@pytest.fixture
def authenticator(container: Container, member: Member) -> SoftwareAuthenticator:
    device = SoftwareAuthenticator()
    register(container, member, device)
    return device


def test_a_registered_passkey_logs_the_member_in_and_advances_the_counter(
    container: Container, member: Member, authenticator: SoftwareAuthenticator
) -> None:
    ceremony = options(container)
    assert ceremony.options["userVerification"] == "required"
    opened = login(container, ceremony, authenticator.assertion(ceremony.options))
    assert opened.member_id == member.id
    with container.database.reading() as session:
        [passkey] = repository.passkeys_of_member(session, member.id)
    assert passkey.sign_count == 1
    discoverable = options(container, phone=None)  # no phone: any passkey of this site
    assert (
        login(container, discoverable, authenticator.assertion(discoverable.options)).member_id == member.id
    )


def test_an_assertion_with_a_bad_signature_is_refused_and_counted(
    container: Container, member: Member, authenticator: SoftwareAuthenticator
) -> None:
    ceremony = options(container)
    with pytest.raises(PasskeyRejected, match="signature"):
        login(container, ceremony, authenticator.assertion(ceremony.options, corrupt_signature=True))
    assert failed_passkey_attempts(container, member) == 1


def test_an_assertion_whose_counter_did_not_advance_is_refused(
    container: Container, member: Member, authenticator: SoftwareAuthenticator
) -> None:
    first = options(container)
    login(container, first, authenticator.assertion(first.options, counter=7))
    cloned = options(container)
    with pytest.raises(PasskeyRejected, match="sign count"):
        login(container, cloned, authenticator.assertion(cloned.options, counter=7))
    lower = options(container)
    with pytest.raises(PasskeyRejected, match="sign count"):
        login(container, lower, authenticator.assertion(lower.options, counter=3))
    assert failed_passkey_attempts(container, member) == 2


def test_an_assertion_for_another_origin_or_without_user_verification_is_refused(
    container: Container, member: Member, authenticator: SoftwareAuthenticator
) -> None:
    phishing = options(container)
    with pytest.raises(PasskeyRejected):
        login(
            container, phishing, authenticator.assertion(phishing.options, origin="https://backb0ne.example")
        )
    unverified = options(container)
    with pytest.raises(PasskeyRejected):
        login(container, unverified, authenticator.assertion(unverified.options, user_verified=False))


def test_a_ceremony_answers_once(
    container: Container, member: Member, authenticator: SoftwareAuthenticator
) -> None:
    ceremony = options(container)
    login(container, ceremony, authenticator.assertion(ceremony.options))
    with pytest.raises(ChallengeUsed):
        login(container, ceremony, authenticator.assertion(ceremony.options))


def test_an_unknown_passkey_is_refused(container: Container, member: Member) -> None:
    stranger = SoftwareAuthenticator()
    stranger.user_handle = b"1"
    ceremony = options(container)
    with pytest.raises(UnknownPasskey):
        login(container, ceremony, stranger.assertion(ceremony.options))


def test_malformed_or_foreign_registration_responses_store_nothing(
    container: Container, member: Member
) -> None:
    device = SoftwareAuthenticator()
    answers: tuple[Callable[[dict[str, Any]], str], ...] = (
        lambda options: "{}",
        lambda options: "not json",
        lambda options: device.register(options, origin="https://backb0ne.example"),
        lambda options: device.register({**options, "challenge": "AAAA"}),
        lambda options: json.dumps(
            {**json.loads(device.register(options)), "response": {"clientDataJSON": "AAAA"}}
        ),
    )
    for answer in answers:
        with container.database.transaction() as session:
            ceremony = container.identity.passkeys.registration_options(session, member)
        credential = answer(ceremony.options)

        def work(session: Session, ceremony: Ceremony = ceremony, credential: str = credential) -> object:
            return container.identity.passkeys.register(
                session, member, challenge_id=ceremony.challenge_id, credential=credential, label="x"
            )

        with pytest.raises(PasskeyRejected):
            counting(container.database, work)
    with container.database.reading() as session:
        assert repository.passkeys_of_member(session, member.id) == []
    assert failed_passkey_attempts(container, member) == len(answers)
