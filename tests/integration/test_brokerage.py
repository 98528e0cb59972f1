"""Firms, customers, accounts and their money through the brokerage service, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backbone.bootstrap import Container
from backbone.brokerage.domain import AccountType, TransactionKind
from backbone.brokerage.errors import (
    ExceedsWithdrawable,
    FirmAlreadyExists,
    InvalidAccountNumber,
    InvalidCustomerDetails,
    InvalidFirmCode,
    SameAccount,
    UnknownAccount,
    UnknownFirm,
    UnknownInstrument,
)
from backbone.kit.clock import SimulatedClock, seoul_date, seoul_midnight
from backbone.kit.money import Quantity, Won
from backbone.ledger.errors import AmountNotPositive, IdempotencyKeyReused, InsufficientFunds
from tests import builders


def test_each_firm_numbers_accounts_in_its_own_format(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session, code="AAA", pattern="BBB-PP-NNNNNC")
        builders.firm(container, session, code="BBB", pattern="NNNN-NNNC-PP")
        first = builders.account(container, session, firm_code="AAA")
        second = builders.account(container, session, firm_code="BBB", account_type=AccountType.ISA)
    assert first.display_number.startswith("001-01-")
    assert second.display_number.endswith("-05")
    with container.database.reading() as session:
        found = container.brokerage.account_by_number(session, "BBB", second.display_number.replace("-", ""))
    assert found.id == second.id


def test_serials_never_repeat_within_a_firm(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        numbers = {builders.account(container, session).number for _ in range(12)}
    assert len(numbers) == 12


def test_bad_firm_and_customer_details_are_refused(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
    for bad_code in ("x", "lower", "TOO-LONG-CODE"):
        with pytest.raises(InvalidFirmCode), container.database.transaction() as session:
            builders.firm(container, session, code=bad_code)
    with pytest.raises(FirmAlreadyExists), container.database.transaction() as session:
        builders.firm(container, session)
    with pytest.raises(InvalidCustomerDetails), container.database.transaction() as session:
        container.brokerage.register_customer(
            session, firm_code="TST", name="김민준", birth_date=date(1990, 1, 1), phone="02-123-4567"
        )
    with pytest.raises(UnknownFirm), container.database.transaction() as session:
        container.brokerage.register_customer(
            session, firm_code="NONE", name="김민준", birth_date=date(1990, 1, 1), phone="010-1234-5678"
        )


def test_unknown_and_malformed_account_numbers_are_refused(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session)
    digits = account.number
    unused_serial = digits[:6] + "99" + digits[8:]
    with container.database.reading() as session:
        with pytest.raises(InvalidAccountNumber):
            container.brokerage.account_by_number(session, "TST", "12-34")
        with pytest.raises(InvalidAccountNumber):
            container.brokerage.account_by_number(session, "TST", unused_serial)  # check digit no longer fits
        fitting = account.firm.account_number_format.compose(branch=1, product_code="01", serial=77_777)
        with pytest.raises(UnknownAccount):
            container.brokerage.account_by_number(session, "TST", fitting)


def test_deposit_withdraw_and_balance(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=1_000_000, shares={"005930": 10})
        container.brokerage.withdraw(session, account=account, amount=Won(300_000), idempotency_key="w-1")
    with container.database.reading() as session:
        balance = container.holdings.balance(session, account)
    assert (balance.cash_today, balance.withdrawable) == (700_000, 700_000)
    assert [(position.instrument, position.total) for position in balance.positions] == [
        ("005930", Quantity.shares(10).micro)
    ]


def test_withdrawing_more_than_withdrawable_or_a_non_positive_amount_changes_nothing(
    container: Container,
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=500_000)
        container.ledger.hold(
            session, idempotency_key="order", owner=account.owner, asset="KRW", amount=200_000
        )
    for amount, error in ((300_001, ExceedsWithdrawable), (0, AmountNotPositive), (-5, AmountNotPositive)):
        with pytest.raises(error), container.database.transaction() as session:
            container.brokerage.withdraw(
                session, account=account, amount=Won(amount), idempotency_key=builders.key()
            )
    with container.database.reading() as session:
        assert container.brokerage.withdrawable(session, account) == 300_000


def test_a_withdrawal_retried_after_it_succeeded_is_answered_not_refused(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=100_000)
    results = []
    for _ in range(2):
        with container.database.transaction() as session:
            results.append(
                container.brokerage.withdraw(
                    session, account=account, amount=Won(100_000), idempotency_key="all"
                )
            )
    assert results[0].id == results[1].id
    with pytest.raises(IdempotencyKeyReused), container.database.transaction() as session:
        container.brokerage.withdraw(session, account=account, amount=Won(50_000), idempotency_key="all")


def test_transfers_between_accounts_move_cash_and_shares(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        giver = builders.account(container, session, cash=100_000, shares={"000660": 5})
        taker = builders.account(container, session, name="이서연")
        container.brokerage.transfer_between(
            session, source=giver, target=taker, asset="KRW", amount=40_000, idempotency_key="t-1"
        )
        container.brokerage.transfer_between(
            session,
            source=giver,
            target=taker,
            asset="000660",
            amount=Quantity.shares(2).micro,
            idempotency_key="t-2",
        )
    with container.database.reading() as session:
        assert container.holdings.balance(session, taker).cash_today == 40_000
        assert container.holdings.balance(session, taker).positions[0].total == Quantity.shares(2).micro
    for asset, amount, error in (
        ("KRW", 60_001, InsufficientFunds),
        ("NOPE", 1, UnknownInstrument),
        ("KRW", 0, AmountNotPositive),
    ):
        with pytest.raises(error), container.database.transaction() as session:
            container.brokerage.transfer_between(
                session,
                source=giver,
                target=taker,
                asset=asset,
                amount=amount,
                idempotency_key=builders.key(),
            )
    with pytest.raises(SameAccount), container.database.transaction() as session:
        container.brokerage.transfer_between(
            session, source=giver, target=giver, asset="KRW", amount=1, idempotency_key=builders.key()
        )


def test_transactions_filter_by_korean_dates_and_page_backwards(
    container: Container, clock: SimulatedClock
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session)
    first_day = clock.now()
    for day in range(5):
        with container.database.transaction() as session:
            container.brokerage.deposit(
                session, account=account, amount=Won((day + 1) * 1_000), idempotency_key=f"d-{day}"
            )
        clock.advance(timedelta(days=1))
    start = seoul_midnight(seoul_date(first_day) + timedelta(days=1))
    end = seoul_midnight(seoul_date(first_day) + timedelta(days=4))
    with container.database.reading() as session:
        page = container.holdings.transactions(session, account=account, since=start, until=end, limit=2)
        assert [line.cash_won for line in page.items] == [4_000, 3_000]
        rest = container.holdings.transactions(
            session, account=account, since=start, until=end, cursor=page.next_cursor, limit=2
        )
        assert [line.cash_won for line in rest.items] == [2_000]
        assert rest.next_cursor is None
        withdrawals = container.holdings.transactions(
            session, account=account, kinds=[TransactionKind.WITHDRAWAL]
        )
        assert withdrawals.items == []
