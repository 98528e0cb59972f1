"""The database enforces the ledger's rules by itself, for writes that bypass the service."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from backbone.bootstrap import Container
from backbone.ledger.domain import CASH, Purpose
from tests.integration.test_ledger import move, open_pair


def leg(transfer_id: int, position: int, account_id: int, asset: str, amount: int) -> str:
    return (
        "INSERT INTO ledger_legs (transfer_id, position, account_id, asset, amount) "
        f"VALUES ({transfer_id}, {position}, {account_id}, '{asset}', {amount})"
    )


def seal(transfer_id: int, key: str, kind: str = "deposit") -> str:
    return (
        "INSERT INTO ledger_transfers (id, idempotency_key, fingerprint, kind, memo, occurred_at) "
        f"VALUES ({transfer_id}, '{key}', 'x', '{kind}', '', '2026-11-23 00:00:00+00:00')"
    )


def raw(container: Container, *statements: str) -> None:
    with container.database.transaction() as session:
        for statement in statements:
            session.execute(text(statement))


def test_the_database_refuses_a_transfer_whose_legs_do_not_net_to_zero(container: Container) -> None:
    world, alice = open_pair(container)
    with pytest.raises(IntegrityError):
        raw(
            container,
            leg(1, 0, world, "KRW", -5),
            leg(1, 1, alice, "KRW", 4),
            seal(1, "raw", "deposit"),
        )


def test_the_database_refuses_legs_added_to_a_sealed_transfer(container: Container) -> None:
    world, alice = open_pair(container)
    transfer_id = move(container, world, alice, 100, "sealed")
    with pytest.raises(IntegrityError):
        raw(
            container,
            leg(transfer_id, 9, alice, "KRW", 1),
        )


def test_the_database_refuses_updates_and_deletes_of_legs_and_transfers(container: Container) -> None:
    world, alice = open_pair(container)
    transfer_id = move(container, world, alice, 100, "immutable")
    for statement in (
        f"UPDATE ledger_legs SET amount = 1000 WHERE transfer_id = {transfer_id}",
        f"DELETE FROM ledger_legs WHERE transfer_id = {transfer_id}",
        f"UPDATE ledger_transfers SET memo = 'edited' WHERE id = {transfer_id}",
        f"DELETE FROM ledger_transfers WHERE id = {transfer_id}",
    ):
        with pytest.raises(IntegrityError):
            raw(container, statement)


def test_the_database_refuses_a_leg_whose_asset_is_not_its_accounts(container: Container) -> None:
    _world, alice = open_pair(container)
    with pytest.raises(IntegrityError):
        raw(
            container,
            leg(2, 0, alice, "005930", 1),
        )


def test_the_database_keeps_a_floored_account_at_or_above_its_floor(container: Container) -> None:
    world, alice = open_pair(container)
    with pytest.raises(IntegrityError):
        raw(
            container,
            leg(3, 0, alice, "KRW", -5),
            leg(3, 1, world, "KRW", 5),
            seal(3, "raw-floor", "withdrawal"),
        )
    with container.database.reading() as session:
        assert container.ledger.balance(session, "alice", CASH).by_purpose == {Purpose.AVAILABLE: 0}


def test_the_database_derives_balances_from_legs_it_accepts(container: Container) -> None:
    world, alice = open_pair(container)
    raw(
        container,
        leg(4, 0, world, "KRW", -70),
        leg(4, 1, alice, "KRW", 70),
        seal(4, "raw-ok", "deposit"),
    )
    with container.database.reading() as session:
        assert container.ledger.balance(session, "alice", CASH).available == 70


def test_every_leg_raises_its_accounts_version_by_one(container: Container) -> None:
    """The fingerprint readers compare (accounts, legs ever posted): any movement changes it."""
    world, alice = open_pair(container)
    with container.database.reading() as session:
        before = container.ledger.fingerprints(session, ["alice", "world", "nobody"])
    raw(
        container,
        leg(5, 0, world, "KRW", -70),
        leg(5, 1, alice, "KRW", 70),
        seal(5, "raw-v1", "deposit"),
        leg(6, 0, alice, "KRW", -20),
        leg(6, 1, world, "KRW", 20),
        seal(6, "raw-v2", "withdrawal"),
    )
    with container.database.reading() as session:
        after = container.ledger.fingerprints(session, ["alice", "world", "nobody"])
    assert "nobody" not in before
    assert "nobody" not in after
    assert after["alice"] == (before["alice"][0], before["alice"][1] + 2)
    assert after["world"] == (before["world"][0], before["world"][1] + 2)
