"""Consent rules, pure: the transition table, expiry by the clock, and the re-consent window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backbone.open_platform.consents.domain import (
    RENEWAL_WINDOW_DAYS,
    TRANSITIONS,
    VALIDITY_DAYS,
    Consent,
    ConsentEvent,
    ConsentKind,
    ConsentMethod,
    ConsentStatus,
    new_validity,
    transition,
)
from backbone.open_platform.errors import ConsentStillValid, ConsentTransitionRefused

SIGNED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
EXPIRES = SIGNED + timedelta(days=VALIDITY_DAYS)
CONSENT = Consent(
    id=7,
    kind=ConsentKind.PLATFORM_FIRM,
    member_id=1,
    firm_id=2,
    company_id=None,
    method=ConsentMethod.CERTIFICATE,
    signature_id=3,
    ars_call_id=None,
    document_text="동의",
    status=ConsentStatus.ACTIVE,
    signed_at=SIGNED,
    expires_at=EXPIRES,
    ended_at=None,
)

ALLOWED = {
    (ConsentStatus.ACTIVE, ConsentEvent.EXPIRE): ConsentStatus.EXPIRED,
    (ConsentStatus.ACTIVE, ConsentEvent.REVOKE): ConsentStatus.REVOKED,
    (ConsentStatus.ACTIVE, ConsentEvent.RENEW): ConsentStatus.RENEWED,
    (ConsentStatus.EXPIRED, ConsentEvent.RENEW): ConsentStatus.EXPIRED,
}


@pytest.mark.parametrize("status", list(ConsentStatus))
@pytest.mark.parametrize("event", list(ConsentEvent))
def test_every_pair_of_state_and_event_is_allowed_or_refused_as_the_table_says(
    status: ConsentStatus, event: ConsentEvent
) -> None:
    if (status, event) in ALLOWED:
        assert transition(status, event) is ALLOWED[(status, event)]
    else:
        with pytest.raises(ConsentTransitionRefused):
            transition(status, event)


def test_the_table_holds_exactly_the_allowed_transitions_and_ends_are_final() -> None:
    assert TRANSITIONS == ALLOWED
    for final in (ConsentStatus.REVOKED, ConsentStatus.RENEWED):
        for event in ConsentEvent:
            with pytest.raises(ConsentTransitionRefused):
                transition(final, event)


def test_a_consent_expires_on_its_instant_without_any_job() -> None:
    assert CONSENT.effective_status(EXPIRES - timedelta(microseconds=1)) is ConsentStatus.ACTIVE
    assert CONSENT.effective_status(EXPIRES) is ConsentStatus.EXPIRED
    assert not CONSENT.is_valid(EXPIRES)
    revoked = replace(CONSENT, status=ConsentStatus.REVOKED)
    assert revoked.effective_status(SIGNED) is ConsentStatus.REVOKED
    assert revoked.effective_status(EXPIRES + timedelta(days=1)) is ConsentStatus.REVOKED


def test_re_consent_opens_a_month_before_expiry_and_loses_no_day() -> None:
    opens = EXPIRES - timedelta(days=RENEWAL_WINDOW_DAYS)
    assert CONSENT.renewable_from == opens
    with pytest.raises(ConsentStillValid) as refused:
        new_validity(opens - timedelta(seconds=1), CONSENT)
    assert refused.value.extensions["renewable_from"] == opens.isoformat()

    signed, expires = new_validity(opens, CONSENT)
    assert signed == opens
    assert expires == EXPIRES + timedelta(days=VALIDITY_DAYS)  # continues from the old end
    _, late_expires = new_validity(EXPIRES - timedelta(seconds=1), CONSENT)
    assert late_expires == EXPIRES + timedelta(days=VALIDITY_DAYS)


def test_after_expiry_or_without_a_consent_a_new_one_runs_a_year_from_now() -> None:
    after = EXPIRES + timedelta(days=3)
    assert new_validity(after, CONSENT) == (after, after + timedelta(days=VALIDITY_DAYS))
    assert new_validity(SIGNED, None) == (SIGNED, EXPIRES)
    revoked = replace(CONSENT, status=ConsentStatus.REVOKED)
    assert new_validity(SIGNED + timedelta(days=1), revoked)[1] == EXPIRES + timedelta(days=1)
