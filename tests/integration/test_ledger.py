"""The ledger service on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from backbone.bootstrap import Container
from backbone.ledger.domain import CASH, HoldDraw, Kind, Leg, Purpose, TransferRequest
from backbone.ledger.errors import (
    AssetMismatch,
    DrawDoesNotMatchLegs,
    IdempotencyKeyReused,
    InsufficientFunds,
    UnknownAsset,
    UnknownHold,
    UnknownLedgerAccount,
)
from tests.builders import key


def open_pair(container: Container, asset: str = CASH) -> tuple[int, int]:
    with container.database.transaction() as session:
        world = container.ledger.account(
            session, owner="world", asset=asset, purpose=Purpose.BANK, minimum_balance=None
        )
        alice = container.ledger.account(session, owner="alice", asset=asset, purpose=Purpose.AVAILABLE)
    return world.id, alice.id


def move(
    container: Container, source: int, target: int, amount: int, idempotency_key: str, asset: str = CASH
) -> int:
    with container.database.transaction() as session:
        return container.ledger.transfer(
            session,
            TransferRequest(
                idempotency_key=idempotency_key,
                kind=Kind.DEPOSIT,
                legs=(Leg(source, asset, -amount), Leg(target, asset, amount)),
            ),
        ).id


def balances(container: Container, owner: str) -> dict[str, dict[Purpose, int]]:
    with container.database.reading() as session:
        return {
            asset: dict(balance.by_purpose)
            for asset, balance in container.ledger.balances(session, owner).items()
        }


def test_a_transfer_moves_the_amount_and_balances_are_derived_from_legs(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 10_000, "deposit-1")
    assert balances(container, "alice") == {CASH: {Purpose.AVAILABLE: 10_000}}
    assert balances(container, "world") == {CASH: {Purpose.BANK: -10_000}}


def test_a_retry_with_the_same_key_is_applied_once(container: Container) -> None:
    world, alice = open_pair(container)
    first = move(container, world, alice, 10_000, "deposit-once")
    second = move(container, world, alice, 10_000, "deposit-once")
    assert first == second
    assert balances(container, "alice")[CASH][Purpose.AVAILABLE] == 10_000


def test_a_reused_key_with_a_different_body_is_refused_and_changes_nothing(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 10_000, "deposit-reused")
    with pytest.raises(IdempotencyKeyReused):
        move(container, world, alice, 20_000, "deposit-reused")
    assert balances(container, "alice")[CASH][Purpose.AVAILABLE] == 10_000


def test_overdrawing_a_floored_account_is_refused_and_changes_nothing(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 5_000, key())
    with pytest.raises(InsufficientFunds):
        move(container, alice, world, 5_001, key())
    assert balances(container, "alice")[CASH][Purpose.AVAILABLE] == 5_000


def test_unknown_accounts_assets_and_mismatched_assets_are_refused(container: Container) -> None:
    world, alice = open_pair(container)
    with pytest.raises(UnknownLedgerAccount):
        move(container, world, 999_999, 1, key())
    with pytest.raises(AssetMismatch):
        move(container, world, alice, 1, key(), asset="005930")
    with container.database.transaction() as session, pytest.raises(UnknownAsset):
        container.ledger.account(session, owner="alice", asset="NOPE", purpose=Purpose.AVAILABLE)


def test_holds_reserve_and_release_and_draws_spend_them(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 100_000, key())
    with container.database.transaction() as session:
        hold = container.ledger.hold(
            session, idempotency_key="order-1", owner="alice", asset=CASH, amount=60_000
        )
    assert balances(container, "alice")[CASH] == {Purpose.AVAILABLE: 40_000, Purpose.HELD: 60_000}
    with pytest.raises(InsufficientFunds), container.database.transaction() as session:
        container.ledger.hold(session, idempotency_key="order-2", owner="alice", asset=CASH, amount=40_001)
    with container.database.transaction() as session:
        container.ledger.transfer(
            session,
            TransferRequest(
                idempotency_key="fill-1",
                kind=Kind.BUY,
                legs=(Leg(hold.held_account_id, CASH, -25_000), Leg(world, CASH, 25_000)),
                draws=(HoldDraw(hold.id, 25_000),),
            ),
        )
        released = container.ledger.release(session, idempotency_key="cancel-1", hold_id=hold.id)
    assert released.remaining == 0
    assert balances(container, "alice")[CASH] == {Purpose.AVAILABLE: 75_000, Purpose.HELD: 0}


def test_a_hold_retried_with_its_key_is_reserved_once(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 100_000, key())
    for _ in range(2):
        with container.database.transaction() as session:
            hold = container.ledger.hold(
                session, idempotency_key="order-x", owner="alice", asset=CASH, amount=30_000
            )
    assert hold.remaining == 30_000
    assert balances(container, "alice")[CASH][Purpose.HELD] == 30_000
    with pytest.raises(IdempotencyKeyReused), container.database.transaction() as session:
        container.ledger.hold(session, idempotency_key="order-x", owner="alice", asset=CASH, amount=31_000)


def test_held_money_cannot_leave_except_through_its_hold(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 100_000, key())
    with container.database.transaction() as session:
        hold = container.ledger.hold(session, idempotency_key=key(), owner="alice", asset=CASH, amount=50_000)
    with pytest.raises(DrawDoesNotMatchLegs), container.database.transaction() as session:
        container.ledger.transfer(
            session,
            TransferRequest(
                idempotency_key=key(),
                kind=Kind.WITHDRAWAL,
                legs=(Leg(hold.held_account_id, CASH, -10_000), Leg(world, CASH, 10_000)),
            ),
        )
    with pytest.raises(UnknownHold), container.database.transaction() as session:
        container.ledger.release(session, idempotency_key=key(), hold_id=123456)
    assert balances(container, "alice")[CASH] == {Purpose.AVAILABLE: 50_000, Purpose.HELD: 50_000}


def test_history_pages_newest_first_with_a_cursor_and_leaves_out_holds(container: Container) -> None:
    world, alice = open_pair(container)
    for amount in range(1, 8):
        move(container, world, alice, amount * 1_000, key())
    with container.database.transaction() as session:
        container.ledger.hold(session, idempotency_key=key(), owner="alice", asset=CASH, amount=500)
    seen: list[int] = []
    cursor = None
    while True:
        with container.database.reading() as session:
            page = container.ledger.history(session, owner="alice", cursor=cursor, limit=3)
        seen.extend(line.amount for line in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [7_000, 6_000, 5_000, 4_000, 3_000, 2_000, 1_000]


def test_a_batch_answers_each_request_and_writes_only_the_accepted(container: Container) -> None:
    world, alice = open_pair(container)
    with container.database.transaction() as session:
        bob = container.ledger.account(session, owner="bob", asset=CASH, purpose=Purpose.AVAILABLE).id

    def request(key: str, source: int, target: int, amount: int) -> TransferRequest:
        return TransferRequest(
            idempotency_key=key,
            kind=Kind.TRANSFER,
            legs=(Leg(source, CASH, -amount), Leg(target, CASH, amount)),
        )

    with container.database.transaction() as session:
        outcomes = container.ledger.transfer_many(
            session,
            [
                request("fund-alice", world, alice, 1_000),
                request("alice-pays-bob", alice, bob, 600),  # sees the funding just before it
                request("alice-overdraws", alice, bob, 500),  # only 400 left
                request("fund-alice", world, alice, 1_000),  # same key, same body: the same transfer
                request("fund-alice", world, alice, 2_000),  # same key, another body: refused
                request("to-nowhere", alice, 987_654, 1),
                request("", world, alice, 1),  # not a valid key
            ],
        )
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == [
        "Transfer", "Transfer", "InsufficientFunds", "Transfer", "IdempotencyKeyReused",
        "UnknownLedgerAccount", "InvalidIdempotencyKey",
    ]  # fmt: skip
    assert outcomes[0] == outcomes[3]
    assert balances(container, "alice")[CASH][Purpose.AVAILABLE] == 400
    assert balances(container, "bob")[CASH][Purpose.AVAILABLE] == 600
