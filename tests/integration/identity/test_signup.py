"""Sign-up: versioned terms, SMS identity verification (wrong, expired, reused and exhausted
codes, limited resends), one member per personal identifier, the confirmation e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backbone.bootstrap import Container
from backbone.identity import repository
from backbone.identity.attempts import counting
from backbone.identity.domain import (
    SMS_CODE_ATTEMPTS_MAX,
    SMS_CODE_TTL_S,
    SMS_RESENDS_MAX,
    TERMS,
    VERIFICATION_TTL_S,
    Factor,
    VerificationPurpose,
    VerificationStatus,
)
from backbone.identity.errors import (
    AlreadyMember,
    CodeAttemptsExhausted,
    CodeExpired,
    CodeUsed,
    CodeWrong,
    InvalidMemberDetails,
    ResendsExhausted,
    TermsNotAccepted,
    VerificationExpired,
)
from backbone.identity.personal_identifier import development_personal_identifier
from backbone.kit.clock import SimulatedClock
from tests.identity import flows


def try_code(container: Container, flow_token: str, code: str) -> None:
    """As the endpoint does: a wrong code's count is committed even though the call fails."""

    def work(session: object) -> None:
        members = container.identity.members
        verification = members.verification_by_token(session, flow_token, VerificationPurpose.SIGNUP)  # type: ignore[arg-type]
        members.confirm_code(session, verification, code)  # type: ignore[arg-type]

    counting(container.database, work)


def verification(container: Container, flow_token: str) -> object:
    with container.database.reading() as session:
        return container.identity.members.verification_by_token(
            session, flow_token, VerificationPurpose.SIGNUP
        )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_each_accepted_term_is_recorded_with_its_version_and_time(
    container: Container, clock: SimulatedClock
) -> None:
    member = flows.sign_up(container)
    with container.database.reading() as session:
        accepted = repository.term_acceptances_of_member(session, member.id)
    assert [(code, version) for code, version, _ in accepted] == sorted(
        (term.code, term.version) for term in TERMS
    )
    assert all(at == clock.now() for _, _, at in accepted)


def test_a_missing_required_term_or_an_outdated_version_is_refused(container: Container) -> None:
    terms = flows.required_terms()
    del terms["privacy"]
    with pytest.raises(TermsNotAccepted), container.database.transaction() as session:
        container.identity.members.start_signup(session, accepted_terms=terms)
    with pytest.raises(TermsNotAccepted), container.database.transaction() as session:
        container.identity.members.start_signup(
            session, accepted_terms={**flows.required_terms(), "service": "2019-01-01"}
        )


def test_the_right_code_verifies_the_person_and_signing_up_sends_a_welcome_email(
    container: Container,
) -> None:
    member = flows.sign_up(container)
    assert member.personal_identifier == development_personal_identifier(
        flows.NAME, flows.BIRTH_DATE, flows.PHONE
    )
    assert len(member.personal_identifier) == 88
    with container.database.reading() as session:
        mail = repository.outbox_messages(session, recipient=flows.EMAIL, channel="email", limit=5)
        attempts = repository.attempts_of_member(session, member.id)
    assert len(mail) == 1
    assert "회원가입" in mail[0].subject
    assert attempts == []  # the verification belonged to no member yet; its attempt was anonymous


def test_a_wrong_code_is_counted_and_refused_with_the_attempts_left(container: Container) -> None:
    flow_token = flows.start_signup(container)
    code = flows.latest_code(container)
    with pytest.raises(CodeWrong) as refused:
        try_code(container, flow_token, wrong(code))
    assert refused.value.extensions["attempts_left"] == SMS_CODE_ATTEMPTS_MAX - 1
    assert verification(container, flow_token).code_attempts == 1  # type: ignore[attr-defined]
    try_code(container, flow_token, code)
    assert verification(container, flow_token).status is VerificationStatus.VERIFIED  # type: ignore[attr-defined]


def test_too_many_wrong_codes_end_the_verification_even_for_the_right_code(container: Container) -> None:
    flow_token = flows.start_signup(container)
    code = flows.latest_code(container)
    for _ in range(SMS_CODE_ATTEMPTS_MAX - 1):
        with pytest.raises(CodeWrong):
            try_code(container, flow_token, wrong(code))
    with pytest.raises(CodeAttemptsExhausted):
        try_code(container, flow_token, wrong(code))
    with pytest.raises(CodeAttemptsExhausted):
        try_code(container, flow_token, code)
    assert verification(container, flow_token).status is VerificationStatus.FAILED  # type: ignore[attr-defined]
    with container.database.reading() as session:
        assert repository.attempt_count(session) == SMS_CODE_ATTEMPTS_MAX  # each wrong code, on record


def test_an_expired_code_is_refused_and_a_resent_code_works(
    container: Container, clock: SimulatedClock
) -> None:
    flow_token = flows.start_signup(container)
    first = flows.latest_code(container)
    clock.advance(timedelta(seconds=SMS_CODE_TTL_S))
    with pytest.raises(CodeExpired):
        try_code(container, flow_token, first)
    with container.database.transaction() as session:
        members = container.identity.members
        members.resend_code(
            session, members.verification_by_token(session, flow_token, VerificationPurpose.SIGNUP)
        )
    second = flows.latest_code(container)
    if second != first:
        with pytest.raises(CodeWrong):
            try_code(container, flow_token, first)
    try_code(container, flow_token, second)


def test_a_used_code_cannot_be_used_again(container: Container) -> None:
    flow_token = flows.start_signup(container)
    code = flows.latest_code(container)
    try_code(container, flow_token, code)
    with pytest.raises(CodeUsed):
        try_code(container, flow_token, code)


def test_resends_are_limited(container: Container) -> None:
    flow_token = flows.start_signup(container)
    members = container.identity.members
    for _ in range(SMS_RESENDS_MAX):
        with container.database.transaction() as session:
            members.resend_code(
                session, members.verification_by_token(session, flow_token, VerificationPurpose.SIGNUP)
            )
    with pytest.raises(ResendsExhausted), container.database.transaction() as session:
        members.resend_code(
            session, members.verification_by_token(session, flow_token, VerificationPurpose.SIGNUP)
        )
    with container.database.reading() as session:
        sent = repository.outbox_messages(session, recipient="01012345678", channel="sms", limit=50)
    assert len(sent) == 1 + SMS_RESENDS_MAX


def test_the_whole_verification_expires(container: Container, clock: SimulatedClock) -> None:
    flow_token = flows.start_signup(container)
    code = flows.latest_code(container)
    try_code(container, flow_token, code)
    clock.advance(timedelta(seconds=VERIFICATION_TTL_S))
    with pytest.raises(VerificationExpired), container.database.transaction() as session:
        container.identity.members.complete_signup(session, flow_token, email=flows.EMAIL)


def test_one_member_per_personal_identifier(container: Container) -> None:
    flows.sign_up(container)
    flow_token = flows.start_signup(container)
    with pytest.raises(AlreadyMember):
        try_code(container, flow_token, flows.latest_code(container))


def test_implausible_details_are_refused_before_any_code_is_sent(container: Container) -> None:
    members = container.identity.members
    for details in (
        {"name": "", "birth_date": flows.BIRTH_DATE, "phone": flows.PHONE},
        {"name": flows.NAME, "birth_date": flows.BIRTH_DATE, "phone": "02-123-4567"},
        {"name": flows.NAME, "birth_date": flows.BIRTH_DATE.replace(year=2020), "phone": flows.PHONE},
    ):
        with container.database.transaction() as session:
            started = members.start_signup(session, accepted_terms=flows.all_terms())
        with pytest.raises(InvalidMemberDetails), container.database.transaction() as session:
            members.send_signup_code(session, started.flow_token, **details)  # type: ignore[arg-type]
    with container.database.reading() as session:
        assert repository.outbox_messages(session, recipient=None, channel=None, limit=10) == []


def test_a_successful_verification_is_an_sms_attempt_on_record(container: Container) -> None:
    flow_token = flows.start_signup(container)
    try_code(container, flow_token, flows.latest_code(container))
    with container.database.reading() as session:
        assert repository.attempt_count(session) == 1
    assert Factor.SMS.value == "sms"
