"""The PIN (argon2id, locked after five failures, unlocked by verifying identity again) and ARS
calls answered through the development outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backbone.bootstrap import Container
from backbone.identity import repository
from backbone.identity.attempts import counting
from backbone.identity.domain import (
    ARS_ATTEMPTS_MAX,
    ARS_CALL_TTL_S,
    PIN_ATTEMPTS_MAX,
    ArsStatus,
    Factor,
    VerificationPurpose,
)
from backbone.identity.errors import (
    ArsCallOver,
    ArsDigitsWrong,
    ArsNotConfirmed,
    IdentityMismatch,
    PinLocked,
    PinWrong,
    WeakPin,
)
from backbone.kit.clock import SimulatedClock
from tests.identity import flows


def pin_login(container: Container, pin: str) -> None:
    counting(
        container.database,
        lambda session: container.identity.logins.with_pin(
            session, phone=flows.PHONE, pin=pin, device_token=None, device_label="t"
        ),
    )


def test_the_pin_is_stored_as_argon2id(container: Container) -> None:
    member = flows.sign_up(container)
    with container.database.reading() as session:
        hashed = repository.pin_hash(session, member.id)
    assert hashed is not None
    assert hashed.startswith("$argon2id$")
    assert flows.PIN not in hashed


def test_a_weak_pin_is_refused_and_nothing_is_stored(container: Container) -> None:
    member = flows.sign_up(container, pin=None)
    with pytest.raises(WeakPin), container.database.transaction() as session:
        container.identity.members.set_pin(session, member, "123456")
    with container.database.reading() as session:
        assert repository.pin_hash(session, member.id) is None


def test_five_wrong_pins_lock_it_and_the_right_pin_is_then_refused(container: Container) -> None:
    flows.sign_up(container)
    for _ in range(PIN_ATTEMPTS_MAX - 1):
        with pytest.raises(PinWrong):
            pin_login(container, "902468")
    with pytest.raises(PinLocked):
        pin_login(container, "902468")
    with pytest.raises(PinLocked):
        pin_login(container, flows.PIN)


def test_a_right_pin_clears_earlier_failures(container: Container) -> None:
    member = flows.sign_up(container)
    with pytest.raises(PinWrong):
        pin_login(container, "902468")
    pin_login(container, flows.PIN)
    with container.database.reading() as session:
        assert container.identity.members.member(session, member.id).pin_failures == 0


def test_verifying_identity_again_unlocks_the_pin(container: Container) -> None:
    member = flows.sign_up(container)
    for _ in range(PIN_ATTEMPTS_MAX):
        with pytest.raises((PinWrong, PinLocked)):
            pin_login(container, "902468")
    with container.database.transaction() as session:
        started = container.identity.members.start_pin_reset(
            session, name=flows.NAME, birth_date=flows.BIRTH_DATE, phone=flows.PHONE
        )
    flows.confirm(
        container, started.flow_token, flows.latest_code(container), purpose=VerificationPurpose.PIN_RESET
    )
    with container.database.transaction() as session:
        unlocked = container.identity.members.complete_pin_reset(session, started.flow_token, pin="820573")
    assert unlocked.id == member.id
    assert not unlocked.pin_locked
    pin_login(container, "820573")


def test_a_pin_reset_by_someone_else_is_refused(container: Container) -> None:
    flows.sign_up(container)
    with container.database.transaction() as session:
        started = container.identity.members.start_pin_reset(
            session, name="박도윤", birth_date=flows.BIRTH_DATE, phone=flows.PHONE
        )
    with pytest.raises(IdentityMismatch):
        flows.confirm(
            container, started.flow_token, flows.latest_code(container), purpose=VerificationPurpose.PIN_RESET
        )


def start_call(container: Container) -> tuple[int, str, int]:
    member = flows.sign_up(container)
    opened = flows.open_session(container, member)
    with container.database.transaction() as session:
        call, digits = container.identity.ars.call(
            session,
            member=member,
            purpose="consent:fintech-firm",
            text="제3자 제공 동의",
            session_id=opened.session_id,
        )
    return call.id, digits, member.id


def keypad(container: Container, call_id: int, digits: str) -> None:
    counting(
        container.database,
        lambda session: container.identity.ars.keypad(session, call_id=call_id, digits=digits),
    )


def other_digits(digits: str) -> str:
    return f"{(int(digits) + 1) % 100:02d}"


def test_an_ars_call_rings_through_the_outbox_and_confirms_with_the_digits(container: Container) -> None:
    call_id, digits, member_id = start_call(container)
    with container.database.reading() as session:
        [rang] = repository.outbox_messages(session, recipient="01012345678", channel="ars", limit=5)
    assert rang.reference == f"ars:{call_id}"
    keypad(container, call_id, digits)
    with container.database.reading() as session:
        call = container.identity.ars.confirmed(
            session, call_id, member_id=member_id, purpose="consent:fintech-firm"
        )
        attempts = repository.attempts_of_member(session, member_id)
    assert call.status is ArsStatus.CONFIRMED
    assert (Factor.ARS, True, "verified") in attempts


def test_wrong_digits_are_counted_and_end_the_call_at_the_limit(container: Container) -> None:
    call_id, digits, member_id = start_call(container)
    for _ in range(ARS_ATTEMPTS_MAX):
        with pytest.raises(ArsDigitsWrong):
            keypad(container, call_id, other_digits(digits))
    with pytest.raises(ArsCallOver):
        keypad(container, call_id, digits)
    with container.database.reading() as session, pytest.raises(ArsNotConfirmed):
        container.identity.ars.confirmed(session, call_id, member_id=member_id)


def test_an_unanswered_call_times_out(container: Container, clock: SimulatedClock) -> None:
    call_id, digits, member_id = start_call(container)
    clock.advance(timedelta(seconds=ARS_CALL_TTL_S))
    with container.database.reading() as session:
        assert container.identity.ars.status(session, call_id, member_id=member_id).status is ArsStatus.FAILED
    with pytest.raises(ArsCallOver):
        keypad(container, call_id, digits)
