"""The device registry (new-device detection feeds step-up) and races: a challenge is used once
however many requests race to use it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from backbone.bootstrap import Container
from backbone.errors import BackboneError
from backbone.identity import repository
from backbone.identity.attempts import counting
from backbone.identity.client import sign_document
from backbone.identity.domain import DEVICE_NEW_PERIOD_S, Factor, Operation
from backbone.identity.errors import NotAuthenticated, StepUpRequired, UnknownDevice
from backbone.kit.clock import SimulatedClock
from tests.identity import flows


def test_a_login_from_a_known_device_reuses_it_and_an_unknown_one_registers_a_new_device(
    container: Container,
) -> None:
    member = flows.sign_up(container)
    first = flows.open_session(container, member)
    assert first.device_token is not None
    assert first.device_is_new
    again = flows.open_session(container, member, device_token=first.device_token)
    assert again.device_id == first.device_id
    assert again.device_token is None  # nothing new to remember
    elsewhere = flows.open_session(container, member, device_token="a token this member never had")
    assert elsewhere.device_id != first.device_id
    with container.database.reading() as session:
        assert len(container.identity.sessions.devices(session, member.id)) == 2


def test_another_members_device_token_does_not_make_a_device_known(container: Container) -> None:
    member = flows.sign_up(container)
    other = flows.sign_up(container, name="이서연", phone="010-2222-3333", email="seoyeon@example.com")
    theirs = flows.open_session(container, other)
    mine = flows.open_session(container, member, device_token=theirs.device_token)
    assert mine.device_id != theirs.device_id


def test_a_device_stops_being_new_after_its_period_and_step_up_follows(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    first = flows.open_session(container, member)
    with container.database.transaction() as session:
        current = container.identity.sessions.authenticate(session, first.session_token)
    assert current.device_is_new
    with pytest.raises(StepUpRequired):
        container.identity.step_up.require(current, Operation.LINK_ACCOUNT)  # SMS is not enough there
    clock.advance(timedelta(seconds=DEVICE_NEW_PERIOD_S))
    later = flows.open_session(container, member, factor=Factor.PIN, device_token=first.device_token)
    with container.database.transaction() as session:
        current = container.identity.sessions.authenticate(session, later.session_token)
    assert not current.device_is_new
    assert container.identity.step_up.require(current, Operation.LINK_ACCOUNT).satisfied_by is Factor.PIN


def test_removing_a_device_ends_its_sessions(container: Container) -> None:
    member = flows.sign_up(container)
    opened = flows.open_session(container, member)
    with container.database.transaction() as session:
        container.identity.sessions.remove_device(session, member.id, opened.device_id)
    with pytest.raises(NotAuthenticated), container.database.transaction() as session:
        container.identity.sessions.authenticate(session, opened.session_token)
    with pytest.raises(UnknownDevice), container.database.transaction() as session:
        container.identity.sessions.remove_device(session, member.id, opened.device_id)


def test_racing_submissions_of_one_signature_are_accepted_once(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    holder = flows.certify(container, member)
    with container.database.transaction() as session:
        challenge = container.identity.signing.issue(
            session, purpose="consent:test", text="동의", member_id=member.id
        )
    signed = sign_document(
        challenge.document, certificate_pem=holder.certificate_pem, key=holder.key, signing_time=clock.now()
    )

    def submit(_: int) -> str:
        try:
            counting(
                container.database,
                lambda session: container.identity.signing.verify(
                    session, challenge_id=challenge.id, signed_data=signed, member_id=member.id
                ),
            )
        except BackboneError as error:
            return error.code
        return "accepted"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(submit, range(8)))
    assert outcomes.count("accepted") == 1
    assert set(outcomes) == {"accepted", "identity.challenge_used"}
    with container.database.reading() as session:
        assert repository.signature_count(session) == 1
