"""Booking the venue's results: order states, fills, executions, settlements, book costs, 거래내역.

One `Booker` books one batch of results inside the caller's transaction. Orders the venue knows
but the brokerage does not (the liquidity simulator's, another member's) are skipped: their side
of a trade is the clearing house's business. Each fill is a ledger transfer keyed by its trade id
and side, so a result booked again after a crash changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account, TransactionKind, TransactionLine, firm_owner
from backbone.brokerage.errors import UnknownAccount
from backbone.brokerage.fees import FeeSchedule
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.domain import (
    ExecutionRecord,
    Fill,
    FillAccounts,
    OrderChange,
    OrderRecord,
    Settlement,
    buy_hold_won,
    next_status,
    reduced_cost,
)
from backbone.brokerage.trading.errors import FillOrKillNotFillable, NoLiquidity, OrderError, VenueRejected
from backbone.brokerage.trading.venue import trade_date_of
from backbone.exchange.calendar import TradingCalendar
from backbone.exchange.messages import (
    CommandResult,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    TradeExecuted,
)
from backbone.exchange.orders import RejectReason, Side
from backbone.kit.check import invariant
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.money import MICRO_PER_SHARE
from backbone.ledger.domain import CASH, HoldDraw, HoldState, Purpose, TransferRequest
from backbone.ledger.service import Ledger

CLEARING_OWNER = "clearing"  # the central counterparty between trade and settlement
TAX_OWNER = "tax-authority"
SETTLEMENT_TRADING_DAYS = 2

_VENUE_REJECTIONS: dict[RejectReason, type[VenueRejected]] = {
    RejectReason.NO_LIQUIDITY: NoLiquidity,
    RejectReason.FOK_NOT_FILLABLE: FillOrKillNotFillable,
}


def order_reference(order_id: int) -> str:
    """How an order's holds are found in the ledger."""
    return f"order:{order_id}"


def venue_refusal(reason: RejectReason) -> VenueRejected:
    error = _VENUE_REJECTIONS.get(reason, VenueRejected)
    return error(f"the market refused it: {reason.value.replace('_', ' ')}", reason=reason.value)


def orders_named(results: Iterable[CommandResult]) -> set[int]:
    """Every order id the results' events mention."""
    ids: set[int] = set()
    for result in results:
        for event in result.events:
            if isinstance(event, TradeExecuted):
                ids.update((event.buy_order_id, event.sell_order_id))
            elif isinstance(
                event, OrderAccepted | OrderRejected | OrderModified | OrderCancelled | OrderExpired
            ):
                ids.add(event.order_id)
    return ids


@dataclass
class BookingReport:
    """What booking a batch of results decided, for the requesters waiting on them."""

    refusals: dict[int, OrderError] = field(default_factory=dict)  # by venue sequence
    orders: dict[int, OrderRecord] = field(default_factory=dict)  # by order id, as booked
    last_sequence: int = 0


class Booker:
    def __init__(
        self,
        *,
        session: Session,
        ledger: Ledger,
        ids: IdGenerator,
        clock: Clock,
        calendar: TradingCalendar,
        fees: Callable[[Account], FeeSchedule],
        orders: dict[int, OrderRecord],
    ) -> None:
        self.session = session
        self.ledger = ledger
        self.ids = ids
        self.clock = clock
        self.calendar = calendar
        self.fees = fees
        self.orders = orders
        self._changed: set[int] = set()
        self._accounts: dict[int, Account] = {}
        self._ledger_accounts: dict[tuple[str, str, Purpose], int] = {}

    def changed(self) -> list[OrderRecord]:
        return [self.orders[order_id] for order_id in sorted(self._changed)]

    def apply(self, result: CommandResult, report: BookingReport) -> None:
        now = self.clock.now()
        touched: set[int] = set()
        already = repository.booked_trades(
            self.session, [event.trade_id for event in result.events if isinstance(event, TradeExecuted)]
        )
        for event in result.events:
            if isinstance(event, OrderAccepted):
                self._change(event.order_id, OrderChange.ACCEPTED, result.sequence, now, touched)
            elif isinstance(event, OrderRejected):
                self._rejected(result, event, report, now, touched)
            elif isinstance(event, TradeExecuted):
                for side, order_id in ((Side.BUY, event.buy_order_id), (Side.SELL, event.sell_order_id)):
                    if order_id in self.orders and (event.trade_id, side.value) not in already:
                        self._fill(result.sequence, event, side, order_id, now)
                        touched.add(order_id)
            elif isinstance(event, OrderModified):
                self._modified(event, result.sequence, now, touched)
            elif isinstance(event, OrderCancelled):
                self._ended(
                    event.order_id, event.quantity, OrderChange.CANCELLED, result.sequence, now, touched
                )
            elif isinstance(event, OrderExpired):
                self._ended(
                    event.order_id, event.quantity, OrderChange.EXPIRED, result.sequence, now, touched
                )
        for order_id in sorted(touched):
            self._settle_holds(self.orders[order_id], result.sequence)
        self._changed |= touched

    # --- order states ---------------------------------------------------------------------------

    def _change(
        self, order_id: int, change: OrderChange, sequence: int, now: datetime, touched: set[int]
    ) -> None:
        order = self.orders.get(order_id)
        if order is None:
            return
        self.orders[order_id] = replace(
            order, status=next_status(order.status, change), last_sequence=sequence, updated_at=now
        )
        touched.add(order_id)

    def _rejected(
        self,
        result: CommandResult,
        event: OrderRejected,
        report: BookingReport,
        now: datetime,
        touched: set[int],
    ) -> None:
        refusal = venue_refusal(event.reason)
        report.refusals[result.sequence] = refusal
        order = self.orders.get(event.order_id)
        if order is None:
            return
        if isinstance(result.command, PlaceOrder):
            self.orders[order.id] = replace(
                order,
                status=next_status(order.status, OrderChange.REJECTED),
                open_quantity=0,
                cancelled_quantity=order.quantity - order.filled_quantity,
                reject_code=refusal.code,
                reject_message=refusal.detail,
                last_sequence=result.sequence,
                updated_at=now,
            )
            touched.add(order.id)
        elif isinstance(result.command, ModifyOrder):
            touched.add(order.id)  # a refused modification gives back any top-up it held

    def _modified(self, event: OrderModified, sequence: int, now: datetime, touched: set[int]) -> None:
        order = self.orders.get(event.order_id)
        if order is None:
            return
        change = event.quantity - order.open_quantity
        self.orders[order.id] = replace(
            order,
            status=next_status(order.status, OrderChange.MODIFIED),
            price=event.price,
            open_quantity=event.quantity,
            quantity=order.quantity + max(change, 0),
            cancelled_quantity=order.cancelled_quantity + max(-change, 0),
            last_sequence=sequence,
            updated_at=now,
        )
        touched.add(order.id)

    def _ended(
        self,
        order_id: int,
        quantity: int,
        change: OrderChange,
        sequence: int,
        now: datetime,
        touched: set[int],
    ) -> None:
        order = self.orders.get(order_id)
        if order is None:
            return
        invariant(
            quantity == order.open_quantity, f"order {order_id} ended with {quantity}, not its open quantity"
        )
        self.orders[order_id] = replace(
            order,
            status=next_status(order.status, change),
            open_quantity=0,
            cancelled_quantity=order.cancelled_quantity + quantity,
            last_sequence=sequence,
            updated_at=now,
        )
        touched.add(order_id)

    # --- fills ----------------------------------------------------------------------------------

    def _fill(self, sequence: int, event: TradeExecuted, side: Side, order_id: int, now: datetime) -> None:
        order = self.orders[order_id]
        account = self._account(order.account_id)
        fill = Fill(side, event.instrument, event.price, event.quantity, self.fees(account))
        transfer = self.ledger.transfer(
            self.session,
            TransferRequest(
                idempotency_key=f"trade:{event.trade_id}:{side.value}",
                kind=fill.kind(),
                legs=fill.legs(self._fill_accounts(account, event.instrument)),
                memo=f"{side.value} {event.quantity} {event.instrument} @ {event.price}",
                reference=order_reference(order_id),
                draws=_draws(self._holds(order_id), fill.hold_draw),
            ),
        )
        trade_date = trade_date_of(event.timestamp_ns)
        settlement_date = self.calendar.add_trading_days(trade_date, SETTLEMENT_TRADING_DAYS)
        execution_id = self.ids.next()
        repository.insert_executions(
            self.session,
            [
                ExecutionRecord(
                    id=execution_id,
                    trade_id=event.trade_id,
                    order_id=order_id,
                    account_id=account.id,
                    instrument=event.instrument,
                    side=side,
                    price=event.price,
                    quantity=event.quantity,
                    gross_won=fill.gross_won,
                    commission_won=fill.commission_won,
                    tax_won=fill.tax_won,
                    trade_date=trade_date,
                    settlement_date=settlement_date,
                    executed_at=transfer.occurred_at,
                )
            ],
            [sequence],
        )
        repository.insert_settlements(
            self.session,
            [
                Settlement(
                    self.ids.next(), execution_id, account.id, side, fill.settlement_won, settlement_date
                )
            ],
        )
        self._book_cost(account.id, fill)
        brokerage_repository.insert_transaction_lines(
            self.session, [self._line(account, fill, transfer.occurred_at, settlement_date)], [transfer.id]
        )
        open_quantity = event.buy_open_quantity if side is Side.BUY else event.sell_open_quantity
        filled = order.filled_quantity + event.quantity
        complete = open_quantity == 0 and filled == order.quantity - order.cancelled_quantity
        self.orders[order_id] = replace(
            order,
            status=next_status(order.status, OrderChange.FILLED if complete else OrderChange.FILLED_IN_PART),
            open_quantity=open_quantity,
            filled_quantity=filled,
            filled_value_won=order.filled_value_won + fill.gross_won,
            last_sequence=sequence,
            updated_at=now,
        )

    def _line(
        self, account: Account, fill: Fill, occurred_at: datetime, settlement_date: date
    ) -> TransactionLine:
        sign = 1 if fill.side is Side.BUY else -1
        return TransactionLine(
            id=self.ids.next(),
            account_id=account.id,
            kind=TransactionKind.BUY if fill.side is Side.BUY else TransactionKind.SELL,
            occurred_at=occurred_at,
            instrument=fill.instrument,
            quantity_micro=sign * fill.quantity * MICRO_PER_SHARE,
            price=fill.price,
            amount_won=fill.gross_won,
            commission_won=fill.commission_won,
            tax_won=fill.tax_won,
            cash_won=fill.cash_effect_won,
            settlement_date=settlement_date,
            memo="",
        )

    def _book_cost(self, account_id: int, fill: Fill) -> None:
        quantity, cost = repository.position_costs(self.session, account_id).get(fill.instrument, (0, 0))
        shares = fill.quantity * MICRO_PER_SHARE
        if fill.side is Side.BUY:
            quantity, cost = quantity + shares, cost + fill.gross_won
        else:
            cost = reduced_cost(cost, quantity, shares)
            quantity = max(quantity - shares, 0)
        repository.save_position_costs(self.session, account_id, {fill.instrument: (quantity, cost)})

    # --- holds ----------------------------------------------------------------------------------

    def _holds(self, order_id: int) -> list[HoldState]:
        return [
            hold for hold in self.ledger.holds_for(self.session, order_reference(order_id)) if hold.remaining
        ]

    def _settle_holds(self, order: OrderRecord, sequence: int) -> None:
        """A finished order gives back all it holds; an open one keeps only its open quantity's
        worst case (a fill at a better price, or a lower modified price, frees the rest)."""
        holds = self._holds(order.id)
        if order.is_finished:
            needed = 0
        elif order.side is Side.SELL:
            needed = order.open_quantity * MICRO_PER_SHARE
        elif order.price is not None:
            needed = buy_hold_won(
                order.price, order.open_quantity, self.fees(self._account(order.account_id))
            )
        else:
            return  # an open market buy holds its upper-limit worst case until it finishes
        excess = sum(hold.remaining for hold in holds) - needed
        for hold in reversed(holds):
            if excess <= 0:
                break
            amount = min(excess, hold.remaining)
            self.ledger.release(
                self.session,
                idempotency_key=f"order:{order.id}:release:{sequence}:{hold.id}",
                hold_id=hold.id,
                amount=amount,
            )
            excess -= amount

    # --- ledger accounts ------------------------------------------------------------------------

    def _account(self, account_id: int) -> Account:
        account = self._accounts.get(account_id)
        if account is None:
            found = brokerage_repository.account_by_id(self.session, account_id)
            if found is None:
                raise UnknownAccount(f"no account {account_id}")
            self._accounts[account_id] = account = found
        return account

    def _ledger_account(self, owner: str, asset: str, purpose: Purpose, minimum: int | None = 0) -> int:
        key = (owner, asset, purpose)
        if key not in self._ledger_accounts:
            state = self.ledger.account(
                self.session, owner=owner, asset=asset, purpose=purpose, minimum_balance=minimum
            )
            self._ledger_accounts[key] = state.id
        return self._ledger_accounts[key]

    def _fill_accounts(self, account: Account, instrument: str) -> FillAccounts:
        owner = account.owner
        return FillAccounts(
            cash_held=self._ledger_account(owner, CASH, Purpose.HELD),
            cash_payable=self._ledger_account(owner, CASH, Purpose.PAYABLE),
            cash_receivable=self._ledger_account(owner, CASH, Purpose.RECEIVABLE),
            shares_available=self._ledger_account(owner, instrument, Purpose.AVAILABLE),
            shares_held=self._ledger_account(owner, instrument, Purpose.HELD),
            clearing_cash=self._ledger_account(CLEARING_OWNER, CASH, Purpose.CLEARING, None),
            clearing_shares=self._ledger_account(CLEARING_OWNER, instrument, Purpose.CLEARING, None),
            revenue=self._ledger_account(firm_owner(account.firm.id), CASH, Purpose.REVENUE, None),
            tax=self._ledger_account(TAX_OWNER, CASH, Purpose.TAX, None),
        )


def _draws(holds: Sequence[HoldState], amount: int) -> tuple[HoldDraw, ...]:
    """Take `amount` from an order's holds, oldest first."""
    draws = []
    for hold in holds:
        if amount <= 0:
            break
        taken = min(amount, hold.remaining)
        draws.append(HoldDraw(hold.id, taken))
        amount -= taken
    invariant(amount == 0, "an order's holds cover each of its fills")
    return tuple(draws)
