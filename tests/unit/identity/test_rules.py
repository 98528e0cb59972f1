"""Members' details, PINs, terms and the verification state machine, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backbone.identity.cms import canonical_document, parse_document
from backbone.identity.domain import (
    SMS_CODE_ATTEMPTS_MAX,
    TERMS,
    VERIFICATION_TRANSITIONS,
    Verification,
    VerificationEvent,
    VerificationPurpose,
    VerificationStatus,
    check_birth_date,
    check_code_attempt,
    check_pin,
    check_terms,
    masked_phone,
    next_verification_status,
    normalise_email,
    normalise_name,
    normalise_phone,
)
from backbone.identity.errors import (
    CodeAttemptsExhausted,
    CodeExpired,
    CodeUsed,
    InvalidMemberDetails,
    InvalidPinFormat,
    InvalidSignedData,
    TermsNotAccepted,
    VerificationStateConflict,
    WeakPin,
)

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("pin", ["111111", "123456", "987654", "900517", "051790"])
def test_guessable_pins_are_refused(pin: str) -> None:
    with pytest.raises(WeakPin):
        check_pin(pin, birth_date=date(1990, 5, 17))


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "١٢٣٤٥٦", ""])
def test_a_pin_is_six_ascii_digits(pin: str) -> None:
    with pytest.raises(InvalidPinFormat):
        check_pin(pin)


def test_an_ordinary_pin_is_accepted() -> None:
    assert check_pin("739146", birth_date=date(1990, 5, 17)) == "739146"


def test_phones_normalise_to_digits_and_mask() -> None:
    assert normalise_phone("010-1234-5678") == "01012345678"
    assert normalise_phone(" 010 1234 5678 ") == "01012345678"
    assert masked_phone("01012345678") == "010-****-5678"
    for bad in ("02-123-4567", "010-1234-567a", "0101234567890", "０１０１２３４５６７８"):
        with pytest.raises(InvalidMemberDetails):
            normalise_phone(bad)


def test_names_emails_and_birth_dates() -> None:
    assert normalise_name("  김   민준 ") == "김 민준"
    with pytest.raises(InvalidMemberDetails):
        normalise_name("김\x00민준")
    assert normalise_email("Min@Example.COM") == "Min@example.com"
    with pytest.raises(InvalidMemberDetails):
        normalise_email("not an email")
    with pytest.raises(InvalidMemberDetails):
        check_birth_date(date(2015, 1, 1), date(2026, 11, 23))
    with pytest.raises(InvalidMemberDetails):
        check_birth_date(date(2030, 1, 1), date(2026, 11, 23))


def test_terms_need_every_required_one_at_its_current_version() -> None:
    current = {term.code: term.version for term in TERMS}
    assert {term.code for term in check_terms(current)} == set(current)
    optional = next(term.code for term in TERMS if not term.required)
    without_optional = {code: version for code, version in current.items() if code != optional}
    assert optional not in {term.code for term in check_terms(without_optional)}
    with pytest.raises(TermsNotAccepted):
        check_terms({"unknown": "1", **current})


def test_the_verification_state_machine_allows_only_its_table() -> None:
    assert (
        next_verification_status(VerificationStatus.STARTED, VerificationEvent.SEND)
        is VerificationStatus.CODE_SENT
    )
    for status in VerificationStatus:
        for event in VerificationEvent:
            if (status, event) not in VERIFICATION_TRANSITIONS:
                with pytest.raises(VerificationStateConflict):
                    next_verification_status(status, event)


def verification(status: VerificationStatus, *, attempts: int = 0, code_age_s: int = 0) -> Verification:
    return Verification(
        id=1,
        purpose=VerificationPurpose.SIGNUP,
        status=status,
        member_id=None,
        name="김민준",
        birth_date=date(1990, 5, 17),
        phone="01012345678",
        personal_identifier=None,
        code_expires_at=NOW + timedelta(seconds=180 - code_age_s),
        code_attempts=attempts,
        sends=1,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=30),
    )


def test_a_code_may_be_tried_only_while_sent_unexpired_and_not_exhausted() -> None:
    check_code_attempt(verification(VerificationStatus.CODE_SENT), NOW)
    with pytest.raises(CodeExpired):
        check_code_attempt(verification(VerificationStatus.CODE_SENT, code_age_s=180), NOW)
    with pytest.raises(CodeUsed):
        check_code_attempt(verification(VerificationStatus.VERIFIED), NOW)
    with pytest.raises(CodeAttemptsExhausted):
        check_code_attempt(verification(VerificationStatus.FAILED, attempts=SMS_CODE_ATTEMPTS_MAX), NOW)


def test_the_signed_document_is_canonical_json_and_nothing_else_parses() -> None:
    document = canonical_document(text="동의합니다", nonce="n1", time=NOW)
    assert document == '{"nonce":"n1","text":"동의합니다","time":"2026-11-23T01:00:00Z"}'.encode()
    assert parse_document(document).text == "동의합니다"
    for bad in (
        b'{"text":"x","nonce":"n1","time":"t"}',  # not sorted
        b'{"nonce": "n1", "text": "x", "time": "t"}',  # spaces
        b'{"nonce":"n1","text":"x"}',
        b'{"nonce":"n1","text":"x","time":"t","extra":1}',
        b'{"nonce":1,"text":"x","time":"t"}',
        b"\xff\xfe",
        b"[]",
    ):
        with pytest.raises(InvalidSignedData):
            parse_document(bad)
