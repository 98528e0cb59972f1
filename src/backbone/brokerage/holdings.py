"""잔고 and 거래내역: what an account holds, valued at the last price, and what moved through it.

Cash is read from the ledger (available, held for orders, payable to unsettled buys) and projected
over the next two settlement days from the pending settlements; positions are the ledger's shares
with the book cost kept by the brokerage, valued at the venue's last price (or the instrument's
base price while no venue runs in this process).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from sqlalchemy.orm import Session

from backbone.brokerage import repository
from backbone.brokerage.domain import Account, AccountBalance, Position, TransactionKind, TransactionLine
from backbone.brokerage.trading import repository as trading_repository
from backbone.brokerage.trading.domain import Settlement, project_cash
from backbone.exchange.calendar import TradingCalendar
from backbone.kit.clock import Clock, seoul_date
from backbone.kit.pagination import Page, decode_cursor, encode_cursor, page_size
from backbone.ledger.domain import CASH, Balance, Purpose
from backbone.ledger.service import Ledger

PriceOf = Callable[[str], int]


class PriceBoard:
    """Where last prices come from: the venue once one runs in this process, else base prices."""

    def __init__(self, base_prices: dict[str, int]) -> None:
        self._base_prices = base_prices
        self.source: PriceOf | None = None

    def last_price(self, instrument: str) -> int:
        if self.source is not None:
            return self.source(instrument)
        return self._base_prices.get(instrument, 0)


class Holdings:
    def __init__(
        self, *, ledger: Ledger, clock: Clock, calendar: TradingCalendar, prices: PriceBoard
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._calendar = calendar
        self.prices = prices

    def balance(self, session: Session, account: Account) -> AccountBalance:
        return self.balances(session, [account])[account.id]

    def balances(self, session: Session, accounts: Sequence[Account]) -> dict[int, AccountBalance]:
        """Each account's balance, all read with three queries whatever their number (the open
        platform's integrated inquiry asks for all of a member's accounts at once)."""
        ledger = self._ledger.balances_of(session, [account.owner for account in accounts])
        account_ids = [account.id for account in accounts]
        pending = trading_repository.pending_settlements_of(session, account_ids)
        costs = trading_repository.position_costs_of(session, account_ids)
        today = seoul_date(self._clock.now())
        days = (self._calendar.add_trading_days(today, 1), self._calendar.add_trading_days(today, 2))
        return {
            account.id: self._balance(
                account, dict(ledger.get(account.owner, {})), pending.get(account.id, []), costs, days
            )
            for account in accounts
        }

    def _balance(
        self,
        account: Account,
        balances: dict[str, Balance],
        pending: list[Settlement],
        costs: dict[tuple[int, str], tuple[int, int]],
        days: tuple[date, date],
    ) -> AccountBalance:
        cash = balances.pop(CASH, None)
        purposes = dict(cash.by_purpose) if cash is not None else {}
        available = purposes.get(Purpose.AVAILABLE, 0)
        held = purposes.get(Purpose.HELD, 0)
        payable = purposes.get(Purpose.PAYABLE, 0)
        projection = project_cash(
            available + held + payable,
            [(item.direction, item.amount_won, item.settlement_date) for item in pending],
            *days,
        )
        last_price = self.prices.last_price
        positions = tuple(
            Position(
                instrument=asset,
                available=balance.available,
                held=balance.held,
                cost_won=costs.get((account.id, asset), (0, 0))[1],
                last_price=last_price(asset),
            )
            for asset, balance in balances.items()
            if balance.available + balance.held != 0
        )
        return AccountBalance(
            account_id=account.id,
            cash_today=projection.today,
            cash_next_day=projection.next_day,
            cash_second_day=projection.second_day,
            cash_available=available,
            cash_held=held,
            withdrawable=available,
            positions=positions,
        )

    def transactions(
        self,
        session: Session,
        *,
        account: Account,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Iterable[TransactionKind] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[TransactionLine]:
        """거래내역, newest first, a page at a time."""
        size = page_size(limit)
        before = None
        if cursor is not None:
            (before_id,) = decode_cursor(cursor, types=(int,))
            before = int(before_id)
        lines = repository.transaction_lines(
            session, account.id, since=since, until=until, kinds=kinds, before_id=before, limit=size + 1
        )
        has_more = len(lines) > size
        lines = lines[:size]
        return Page(items=lines, next_cursor=encode_cursor([lines[-1].id]) if has_more else None)
