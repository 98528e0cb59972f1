"""The holdings the open platform values are kept per account with the ledger's fingerprint of its
owner, read again only when that moved: what they show always equals a fresh read."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from backbone.bootstrap import Container
from backbone.brokerage.domain import Account, AccountBalance
from backbone.kit.money import Quantity, Won
from tests import builders
from tests.statements import selects

SAMSUNG, HYNIX = "005930", "000660"


def both(container: Container, account: Account) -> tuple[AccountBalance, AccountBalance]:
    with container.database.reading() as session:
        kept = container.holdings.current_balances(session, [account])[account.id]
        fresh = container.holdings.balances(session, [account])[account.id]
    return kept, fresh


def test_kept_holdings_equal_a_fresh_read_after_every_kind_of_movement(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=5_000_000, shares={SAMSUNG: 10})
        other = builders.account(container, session, name="이서연", cash=1_000_000)
    kept, fresh = both(container, account)
    assert kept == fresh
    assert [position.instrument for position in kept.positions] == [SAMSUNG]
    moves: list[Callable[[Session], object]] = [
        lambda session: container.brokerage.deposit(
            session, account=account, amount=Won(250_000), idempotency_key=builders.key("in")
        ),
        lambda session: container.brokerage.withdraw(
            session, account=account, amount=Won(100_000), idempotency_key=builders.key("out")
        ),
        lambda session: container.brokerage.deliver_securities(
            session,
            account=account,
            instrument=HYNIX,
            quantity=Quantity.shares(3),
            unit_cost_won=container.instruments[HYNIX].base_price + 1_000,
            idempotency_key=builders.key("deliver"),
        ),
    ]
    for move in moves:
        with container.database.transaction() as session:
            move(session)
        kept, fresh = both(container, account)
        assert kept == fresh
    assert kept.cash_available == 5_150_000
    assert {position.instrument: position.cost_won for position in kept.positions}[HYNIX] == 3 * (
        container.instruments[HYNIX].base_price + 1_000
    )
    # another owner's movement leaves this account's holdings as they were
    with container.database.transaction() as session:
        container.brokerage.deposit(session, account=other, amount=Won(1), idempotency_key=builders.key("x"))
    assert both(container, account)[0] == kept


def test_unchanged_holdings_cost_one_aggregate_instead_of_three_reads(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=1_000_000, shares={SAMSUNG: 5, HYNIX: 2})
    with container.database.reading() as session:
        with selects(container.database.engine) as first:
            container.holdings.current_balances(session, [account])
        with selects(container.database.engine) as again:
            kept = container.holdings.current_balances(session, [account])[account.id]
    # the fingerprint (in the session's snapshot), again in its own transaction, then balances,
    # settlements and costs
    assert len(first) == 5
    assert len(again) == 1
    assert "count" in again[0].lower()
    assert {position.instrument for position in kept.positions} == {SAMSUNG, HYNIX}


def test_kept_holdings_are_valued_at_the_price_of_the_moment(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, shares={SAMSUNG: 10})
    base = container.instruments[SAMSUNG].base_price
    with container.database.reading() as session:
        before = container.holdings.current_balances(session, [account])[account.id]
        container.holdings.prices.source = lambda code: base + 500 if code == SAMSUNG else 0
        try:
            after = container.holdings.current_balances(session, [account])[account.id]
        finally:
            container.holdings.prices.source = None
    assert before.positions[0].valuation_won == 10 * base
    assert after.positions[0].valuation_won == 10 * (base + 500)
