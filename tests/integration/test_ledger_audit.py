"""`ledger check` finds nothing on a healthy ledger and finds each kind of corruption."""

from __future__ import annotations

from sqlalchemy import text

from backbone.bootstrap import Container
from backbone.demo import seed as demo_seed
from backbone.ledger.audit import Rule, audit
from backbone.ledger.domain import CASH
from tests.integration.test_ledger import move, open_pair
from tests.integration.test_ledger_database_rules import leg, seal


def run_audit(container: Container) -> dict[Rule, int]:
    with container.database.reading() as session:
        return audit(session).counts()


def corrupt(container: Container, *statements: str) -> None:
    with container.database.transaction() as session:
        for statement in statements:
            session.execute(text(statement))


def test_the_demo_ledger_has_no_violations(container: Container) -> None:
    with container.database.transaction() as session:
        demo_seed.seed(session, container, seed_value=7)
    with container.database.reading() as session:
        report = audit(session)
    assert report.ok, report.violations
    assert report.transfers_checked > 100


def test_a_balance_edited_in_sql_is_reported_as_drift(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 1_000, "ok")
    corrupt(container, f"UPDATE ledger_accounts SET balance = balance + 1 WHERE id = {alice}")
    counts = run_audit(container)
    assert counts[Rule.BALANCE_DRIFT] == 1
    assert counts[Rule.ASSET_NOT_ZERO_SUM] == 1


def test_an_unbalanced_transfer_slipped_past_dropped_triggers_is_reported(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 1_000, "ok")
    is_sqlite = container.database.is_sqlite
    drop = (
        "DROP TRIGGER ledger_transfers_balanced"
        if is_sqlite
        else "DROP TRIGGER ledger_transfers_balanced ON ledger_transfers"
    )
    corrupt(
        container,
        drop,
        leg(77, 0, alice, CASH, 5),
        seal(77, "forged"),
    )
    counts = run_audit(container)
    assert counts[Rule.TRANSFER_UNBALANCED] == 1
    assert counts[Rule.TRANSFER_TOO_FEW_LEGS] == 1
    assert counts[Rule.ASSET_NOT_ZERO_SUM] == 1


def test_a_hold_edited_in_sql_is_reported(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 1_000, "ok")
    with container.database.transaction() as session:
        hold = container.ledger.hold(session, idempotency_key="h", owner="alice", asset=CASH, amount=400)
    corrupt(container, f"UPDATE ledger_holds SET remaining = 300 WHERE id = {hold.id}")
    counts = run_audit(container)
    assert counts[Rule.HOLD_REMAINING_DRIFT] == 1
    assert counts[Rule.HELD_BALANCE_DRIFT] == 1
