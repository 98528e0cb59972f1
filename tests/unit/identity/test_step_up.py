"""The step-up policy, operation by operation: what clears it, what does not, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backbone.identity.domain import (
    POLICY,
    PROOF_FRESH_S,
    WITHDRAWAL_NEW_DEVICE_WAITING_S,
    WITHDRAWAL_STEP_UP_THRESHOLD_WON,
    Assurance,
    Factor,
    Operation,
    decide,
)
from backbone.identity.errors import StepUpRequired

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
LARGE = WITHDRAWAL_STEP_UP_THRESHOLD_WON + 1
SMALL = WITHDRAWAL_STEP_UP_THRESHOLD_WON


def session_with(*factors: Factor, age_s: int = 0, login: Factor = Factor.PIN) -> Assurance:
    """A session that logged in long ago (its login proof stale) and proved `factors` age_s ago."""
    proven = {login: NOW - timedelta(hours=1)}
    proven.update({factor: NOW - timedelta(seconds=age_s) for factor in factors})
    return Assurance(login_factor=login, proven_at=proven)


def accepted(operation: Operation, assurance: Assurance, **context: object) -> list[str]:
    with pytest.raises(StepUpRequired) as refused:
        decide(operation, assurance, now=NOW, **context)  # type: ignore[arg-type]
    return list(refused.value.extensions["accepted"])


def test_every_operation_has_a_rule_that_always_applies() -> None:
    for operation in Operation:
        last = POLICY[operation][-1]
        assert last.amount_above_won is None, operation
        assert last.new_device is None, operation


def test_viewing_needs_only_a_session() -> None:
    clearance = decide(Operation.VIEW, session_with(), now=NOW, device_is_new=True)
    assert clearance.satisfied_by is None
    assert clearance.not_before == NOW


def test_consent_needs_a_fresh_certificate_signature_or_ars() -> None:
    assert accepted(
        Operation.SIGN_CONSENT, session_with(Factor.PIN, Factor.PASSKEY), device_is_new=False
    ) == [
        "ars",
        "certificate",
    ]
    for factor in (Factor.CERTIFICATE, Factor.ARS):
        clearance = decide(Operation.SIGN_CONSENT, session_with(factor), now=NOW, device_is_new=False)
        assert clearance.satisfied_by is factor


def test_a_proof_goes_stale() -> None:
    stale = session_with(Factor.CERTIFICATE, age_s=PROOF_FRESH_S + 1)
    assert accepted(Operation.SIGN_CONSENT, stale, device_is_new=False) == ["ars", "certificate"]


def test_managing_security_needs_a_fresh_simple_proof() -> None:
    assert accepted(Operation.MANAGE_SECURITY, session_with(), device_is_new=False) == [
        "certificate",
        "passkey",
        "pin",
        "sms",
    ]
    assert decide(
        Operation.MANAGE_SECURITY, session_with(Factor.PIN), now=NOW, device_is_new=False
    ).satisfied_by


def test_issuing_a_certificate_needs_a_fresh_identity_verification() -> None:
    assert accepted(
        Operation.ISSUE_CERTIFICATE, session_with(Factor.PIN, Factor.CERTIFICATE), device_is_new=False
    ) == ["sms"]
    assert decide(Operation.ISSUE_CERTIFICATE, session_with(Factor.SMS), now=NOW, device_is_new=False)


def test_linking_an_account_from_a_new_device_needs_a_signature_or_ars() -> None:
    pin = session_with(Factor.PIN)
    assert decide(Operation.LINK_ACCOUNT, pin, now=NOW, device_is_new=False).satisfied_by is Factor.PIN
    assert accepted(Operation.LINK_ACCOUNT, pin, device_is_new=True) == ["ars", "certificate"]


def test_a_small_withdrawal_needs_a_fresh_simple_proof() -> None:
    clearance = decide(
        Operation.WITHDRAWAL, session_with(Factor.PIN), now=NOW, device_is_new=True, amount_won=SMALL
    )
    assert clearance.not_before == NOW
    assert accepted(Operation.WITHDRAWAL, session_with(), device_is_new=False, amount_won=SMALL)


def test_a_large_withdrawal_from_a_known_device_needs_a_signature_or_ars() -> None:
    assert accepted(
        Operation.WITHDRAWAL, session_with(Factor.PIN), device_is_new=False, amount_won=LARGE
    ) == [
        "ars",
        "certificate",
    ]
    clearance = decide(
        Operation.WITHDRAWAL, session_with(Factor.ARS), now=NOW, device_is_new=False, amount_won=LARGE
    )
    assert clearance.not_before == NOW


def test_a_large_withdrawal_from_a_new_device_needs_a_signature_and_waits() -> None:
    assert accepted(Operation.WITHDRAWAL, session_with(Factor.ARS), device_is_new=True, amount_won=LARGE) == [
        "certificate"
    ]
    clearance = decide(
        Operation.WITHDRAWAL,
        session_with(Factor.CERTIFICATE, age_s=60),
        now=NOW,
        device_is_new=True,
        amount_won=LARGE,
    )
    assert clearance.satisfied_by is Factor.CERTIFICATE
    assert clearance.not_before == NOW - timedelta(seconds=60) + timedelta(
        seconds=WITHDRAWAL_NEW_DEVICE_WAITING_S
    )
