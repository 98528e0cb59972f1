"""잔고 and 거래내역: what an account holds, valued at the last price, and what moved through it.

Cash is read from the ledger (available, held for orders, payable to unsettled buys) and projected
over the next two settlement days from the pending settlements; positions are the ledger's shares
with the book cost kept by the brokerage, valued at the venue's last price: the venue's own in the
process that runs it, the shared last-price board (`exchange/last_prices.py`) in every other
process, the instrument's base price where neither has one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from backbone.brokerage import repository
from backbone.brokerage.domain import Account, AccountBalance, Position, TransactionKind, TransactionLine
from backbone.brokerage.trading import repository as trading_repository
from backbone.brokerage.trading.domain import Settlement, project_cash
from backbone.exchange.calendar import TradingCalendar
from backbone.exchange.last_prices import LastPriceReader
from backbone.exchange.orders import Side
from backbone.kit.clock import Clock, seoul_date
from backbone.kit.db import begin_reading
from backbone.kit.pagination import Page, decode_cursor, encode_cursor, page_size
from backbone.ledger.domain import CASH, Balance, Purpose
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

    def last_prices(self, instruments: Sequence[str]) -> tuple[int, ...]:
        """Several instruments' last prices; from the shared board, all of one moment."""
        if self.source is not None or self._shared is None:
            return tuple(map(self.last_price, instruments))
        shared = self._shared.prices(instruments)
        base = self._base_prices
        return tuple(
            base.get(instrument, 0) if price is None else price
            for instrument, price in zip(instruments, shared, strict=True)
        )


HELD_CACHED_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Held:
    """What an account holds before prices, as read at one ledger fingerprint of its owner."""

    fingerprint: tuple[int, int] | None
    balances: dict[str, Balance]  # asset -> balance by purpose, in code order
    pending: tuple[tuple[Side, int, date], ...]  # unsettled fills: (direction, amount, date)
    costs: dict[str, int]  # instrument -> book cost in won
    instruments: tuple[str, ...]  # those held (in code order), whose prices value the account


class Holdings:
    def __init__(
        self, *, ledger: Ledger, clock: Clock, calendar: TradingCalendar, prices: PriceBoard
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._calendar = calendar
        self.prices = prices
        self._held: dict[int, Held] = {}
        self._valued_last: dict[int, tuple[Held, tuple[date, date], tuple[int, ...], AccountBalance]] = {}

    def balance(self, session: Session, account: Account) -> AccountBalance:
        return self.balances(session, [account])[account.id]

    def balances(self, session: Session, accounts: Sequence[Account]) -> dict[int, AccountBalance]:
        """Each account's balance, all read with three queries whatever their number."""
        held = self._read_held(session, accounts, {})
        return self._valued(accounts, held)

    def current_balances(self, session: Session, accounts: Sequence[Account]) -> dict[int, AccountBalance]:
        """The same as `balances`, for a read-only session: what each account holds (before
        prices) is kept with the ledger's fingerprint of its owner, and read again only when
        that moved — one aggregate query instead of three reads when nothing did. Valued at
        the prices of the moment either way.

        Only for read-only sessions: a transaction's own uncommitted legs move the fingerprint,
        and a rollback could let a later commit reach the same one with other balances."""
        owners = [account.owner for account in accounts]
        fingerprints = self._ledger.fingerprints(session, owners)
        held, stale = self._kept(accounts, fingerprints)
        if stale:
            # The fingerprints may come from the session's snapshot, taken before its own
            # transaction: read them again in that transaction, so that kept and fresh holdings
            # are of one moment.
            begin_reading(session)
            fingerprints = self._ledger.fingerprints(session, owners)
            held, stale = self._kept(accounts, fingerprints)
        if stale:
            # Read after the fingerprints: under READ COMMITTED a commit in between leaves newer
            # holdings under an older fingerprint (read again next time), never the reverse.
            fresh = self._read_held(session, stale, fingerprints)
            if len(self._held) + len(fresh) > HELD_CACHED_MAX:
                self._held.clear()  # a bound on memory; forgetting only costs a read
                self._valued_last.clear()
            self._held.update(fresh)
            held.update(fresh)
        days = self._days()
        return {account.id: self._current(account, held[account.id], days) for account in accounts}

    def _kept(
        self, accounts: Sequence[Account], fingerprints: dict[str, tuple[int, int]]
    ) -> tuple[dict[int, Held], list[Account]]:
        """What is kept of the accounts under these fingerprints, and the accounts to read."""
        held: dict[int, Held] = {}
        stale: list[Account] = []
        for account in accounts:
            known = self._held.get(account.id)
            if known is not None and known.fingerprint == fingerprints.get(account.owner):
                held[account.id] = known
            else:
                stale.append(account)
        return held, stale

    def _current(self, account: Account, held: Held, days: tuple[date, date]) -> AccountBalance:
        """The balance valued now; the very same object as last time while neither the holdings,
        the settlement days nor any of their prices moved (so what is derived from it can be
        kept by identity)."""
        prices = self.prices.last_prices(held.instruments)
        last = self._valued_last.get(account.id)
        if last is not None and last[0] is held and last[1] == days and last[2] == prices:
            return last[3]
        balance = self._balance(account, held, days)
        self._valued_last[account.id] = (held, days, prices, balance)
        return balance

    def _days(self) -> tuple[date, date]:
        today = seoul_date(self._clock.now())
        return self._calendar.add_trading_days(today, 1), self._calendar.add_trading_days(today, 2)

    def _read_held(
        self, session: Session, accounts: Sequence[Account], fingerprints: dict[str, tuple[int, int]]
    ) -> dict[int, Held]:
        ledger = self._ledger.balances_of(session, [account.owner for account in accounts])
        account_ids = [account.id for account in accounts]
        pending = trading_repository.pending_settlements_of(session, account_ids)
        costs = trading_repository.position_costs_of(session, account_ids)
        return {
            account.id: _held(account, ledger.get(account.owner, {}), pending, costs, fingerprints)
            for account in accounts
        }

    def _valued(self, accounts: Sequence[Account], held: dict[int, Held]) -> dict[int, AccountBalance]:
        days = self._days()
        return {account.id: self._balance(account, held[account.id], days) for account in accounts}

    def _balance(self, account: Account, held: Held, days: tuple[date, date]) -> AccountBalance:
        cash = held.balances.get(CASH)
        purposes = dict(cash.by_purpose) if cash is not None else {}
        available = purposes.get(Purpose.AVAILABLE, 0)
        on_hold = purposes.get(Purpose.HELD, 0)
        payable = purposes.get(Purpose.PAYABLE, 0)
        projection = project_cash(available + on_hold + payable, list(held.pending), *days)
        last_price = self.prices.last_price
        costs = held.costs
        positions = tuple(
            Position(
                instrument=asset,
                available=(balance := held.balances[asset]).available,
                held=balance.held,
                cost_won=costs.get(asset, 0),
                last_price=last_price(asset),
            )
            for asset in held.instruments
        )
        return AccountBalance(
            account_id=account.id,
            cash_today=projection.today,
            cash_next_day=projection.next_day,
            cash_second_day=projection.second_day,
            cash_available=available,
            cash_held=on_hold,
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


def _held(
    account: Account,
    balances: dict[str, Balance],
    pending: dict[int, list[Settlement]],
    costs: dict[tuple[int, str], tuple[int, int]],
    fingerprints: dict[str, tuple[int, int]],
) -> Held:
    return Held(
        fingerprint=fingerprints.get(account.owner),
        balances=balances,
        pending=tuple(
            (item.direction, item.amount_won, item.settlement_date) for item in pending.get(account.id, [])
        ),
        costs={instrument: cost for (owner, instrument), (_, cost) in costs.items() if owner == account.id},
        instruments=tuple(
            asset
            for asset, balance in balances.items()
            if asset != CASH and balance.available + balance.held != 0
        ),
    )
