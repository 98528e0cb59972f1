"""잔고 and 거래내역: what an account holds, valued at the last price, and what moved through it.

Cash is read from the ledger (available, held for orders, payable to unsettled buys) and projected
over the next two settlement days from the pending settlements; positions are the ledger's shares
with the book cost kept by the brokerage, valued at the venue's last price: the venue's own in the
process that runs it, the shared last-price board (`exchange/last_prices.py`) in every other
process, the instrument's base price where neither has one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from backbone.brokerage import repository
from backbone.brokerage.domain import Account, AccountBalance, Position, TransactionKind, TransactionLine
from backbone.brokerage.trading import repository as trading_repository
from backbone.brokerage.trading.domain import project_cash
from backbone.exchange.calendar import TradingCalendar
from backbone.exchange.last_prices import LastPriceReader
from backbone.kit.clock import Clock, seoul_date
from backbone.kit.pagination import Page, decode_cursor, encode_cursor, page_size
from backbone.ledger.domain import CASH, Purpose
from backbone.ledger.service import Ledger

PriceOf = Callable[[str], int]


class PriceBoard:
    """Where last prices come from: the venue once one runs in this process, else the board the
    venue process publishes (when there is one and it has the instrument), else base prices."""

    def __init__(self, base_prices: dict[str, int], shared: LastPriceReader | None = None) -> None:
        self._base_prices = base_prices
        self._shared = shared
        self.source: PriceOf | None = None

    def last_price(self, instrument: str) -> int:
        if self.source is not None:
            return self.source(instrument)
        if self._shared is not None:
            price = self._shared.price(instrument)
            if price is not None:
                return price
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
        balances = self._ledger.balances(session, account.owner)
        cash = balances.pop(CASH, None)
        purposes = dict(cash.by_purpose) if cash is not None else {}
        available = purposes.get(Purpose.AVAILABLE, 0)
        held = purposes.get(Purpose.HELD, 0)
        payable = purposes.get(Purpose.PAYABLE, 0)
        today = seoul_date(self._clock.now())
        pending = [
            (settlement.direction, settlement.amount_won, settlement.settlement_date)
            for settlement in trading_repository.pending_settlements(session, account.id)
        ]
        projection = project_cash(
            available + held + payable,
            pending,
            self._calendar.add_trading_days(today, 1),
            self._calendar.add_trading_days(today, 2),
        )
        costs = trading_repository.position_costs(session, account.id)
        positions = tuple(
            Position(
                instrument=asset,
                available=balance.available,
                held=balance.held,
                cost_won=costs.get(asset, (0, 0))[1],
                last_price=self.prices.last_price(asset),
            )
            for asset, balance in sorted(balances.items())
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
