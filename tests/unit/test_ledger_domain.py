from __future__ import annotations

import pytest

from backbone.ledger.domain import (
    AMOUNT_MAX,
    AccountState,
    HoldDraw,
    HoldState,
    Kind,
    Leg,
    Purpose,
    TransferRequest,
    apply_legs,
    check_draws,
    check_idempotency_key,
    validate_transfer,
)
from backbone.ledger.errors import (
    AmountNotPositive,
    AmountTooLarge,
    DrawDoesNotMatchLegs,
    InsufficientFunds,
    InvalidIdempotencyKey,
    UnbalancedTransfer,
)


def request(*legs: Leg, draws: tuple[HoldDraw, ...] = ()) -> TransferRequest:
    return TransferRequest(idempotency_key="k", kind=Kind.TRANSFER, legs=legs, draws=draws)


def state(
    account_id: int, balance: int, minimum: int | None = 0, purpose: Purpose = Purpose.AVAILABLE
) -> AccountState:
    return AccountState(account_id, "owner", "KRW", purpose, balance, minimum)


def test_legs_that_net_to_zero_per_asset_are_valid() -> None:
    validate_transfer(
        request(Leg(1, "KRW", -500), Leg(2, "KRW", 500), Leg(3, "005930", -1), Leg(4, "005930", 1))
    )


def test_legs_that_balance_only_across_assets_are_refused() -> None:
    with pytest.raises(UnbalancedTransfer):
        validate_transfer(request(Leg(1, "KRW", -500), Leg(2, "005930", 500)))


def test_a_single_leg_is_refused() -> None:
    with pytest.raises(UnbalancedTransfer):
        validate_transfer(request(Leg(1, "KRW", 0 + 1)))


def test_zero_and_oversized_legs_are_refused() -> None:
    with pytest.raises(AmountNotPositive):
        validate_transfer(request(Leg(1, "KRW", 0), Leg(2, "KRW", 0)))
    with pytest.raises(AmountTooLarge):
        validate_transfer(request(Leg(1, "KRW", -(AMOUNT_MAX + 1)), Leg(2, "KRW", AMOUNT_MAX + 1)))


def test_applying_legs_below_a_floor_names_what_is_usable() -> None:
    with pytest.raises(InsufficientFunds) as refused:
        apply_legs({1: state(1, 300), 2: state(2, 0, None)}, [Leg(1, "KRW", -500), Leg(2, "KRW", 500)])
    assert refused.value.extensions == {"asset": "KRW", "usable": 300, "needed": 500}


def test_accounts_without_a_floor_may_go_negative() -> None:
    after = apply_legs({1: state(1, 0, None), 2: state(2, 0)}, [Leg(1, "KRW", -500), Leg(2, "KRW", 500)])
    assert after == {1: -500, 2: 500}


def test_fingerprint_ignores_leg_order_but_not_amounts() -> None:
    one = request(Leg(1, "KRW", -5), Leg(2, "KRW", 5))
    same = request(Leg(2, "KRW", 5), Leg(1, "KRW", -5))
    other = request(Leg(1, "KRW", -6), Leg(2, "KRW", 6))
    assert one.fingerprint() == same.fingerprint() != other.fingerprint()


HOLD = HoldState(id=9, source_account_id=1, held_account_id=2, asset="KRW", amount=1000, remaining=400)


def test_a_held_account_moves_only_by_its_holds() -> None:
    legs = [Leg(2, "KRW", -300), Leg(3, "KRW", 300)]
    with pytest.raises(DrawDoesNotMatchLegs):
        check_draws(legs, [], {}, {2})
    check_draws(legs, [HoldDraw(9, 300)], {9: HOLD}, {2})


def test_a_hold_gives_no_more_than_it_has_left() -> None:
    legs = [Leg(2, "KRW", -500), Leg(3, "KRW", 500)]
    with pytest.raises(DrawDoesNotMatchLegs, match="400 left"):
        check_draws(legs, [HoldDraw(9, 500)], {9: HOLD}, {2})


@pytest.mark.parametrize("key", ["", "x" * 101, "키", "tab\tkey"])
def test_idempotency_keys_are_short_printable_ascii(key: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        check_idempotency_key(key)
