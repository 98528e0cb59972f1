"""Booking the venue's results: order states, fills, executions, settlements, book costs, 거래내역.

One `Booker` books one batch of results inside the caller's transaction. Orders the venue knows
but the brokerage does not (the liquidity simulator's, another member's) are skipped: their side
of a trade is the clearing house's business. Each fill is a ledger transfer keyed by its trade id
and side, so a result booked again after a crash changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account, TransactionKind, TransactionLine, firm_owner
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
from backbone.ledger.domain import CASH, HoldDraw, HoldState, Purpose, Transfer, TransferRequest
from backbone.ledger.errors import LedgerError
from backbone.ledger.service import AccountKey, Ledger

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


@dataclass(frozen=True, slots=True)
class _StagedFill:
    """A fill waiting for its transfer: the rest of its records need the transfer's id."""

    execution: ExecutionRecord
    fill: Fill
    sequence: int


class Booker:
    """Books one batch of results: reads what it needs up front, applies the events in memory,
    then writes every transfer, execution, settlement, 거래내역 line, book cost and order with one
    statement each."""

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
        results: Sequence[CommandResult],
    ) -> None:
        self.session = session
        self.ledger = ledger
        self.ids = ids
        self.clock = clock
        self.calendar = calendar
        self.fees = fees
        self.orders = orders
        self._changed: set[int] = set()
        self._accounts = brokerage_repository.accounts_by_ids(
            session, {order.account_id for order in orders.values()}
        )
        self._holds = self._read_holds()
        self._costs = repository.position_costs_of(session, self._accounts)
        self._booked = repository.booked_trades(
            session,
            [
                event.trade_id
                for result in results
                for event in result.events
                if isinstance(event, TradeExecuted)
            ],
        )
        self._ledger_accounts = self._open_ledger_accounts(results)
        self._transfers: list[TransferRequest] = []
        self._fills: list[_StagedFill] = []
        self._occasion = ""

    def changed(self) -> list[OrderRecord]:
        return [self.orders[order_id] for order_id in sorted(self._changed)]

    def give_back_excess(self, occasion: int) -> None:
        """Every order given gives back what it holds beyond its need: a modification's top-up
        whose command never reached the market. `occasion` makes the releases' keys unique."""
        self._occasion = f"{occasion}:"
        self._changed |= set(self.orders)

    # --- reading ahead --------------------------------------------------------------------------

    def _read_holds(self) -> dict[int, list[HoldState]]:
        by_reference = self.ledger.holds_of(
            self.session, [order_reference(order_id) for order_id in self.orders]
        )
        return {order_id: by_reference.get(order_reference(order_id), []) for order_id in self.orders}

    def _open_ledger_accounts(self, results: Sequence[CommandResult]) -> dict[AccountKey, int]:
        """Every ledger account the batch's fills move money between, opened if need be."""
        wanted: dict[AccountKey, int | None] = {}
        for result in results:
            for event in result.events:
                if not isinstance(event, TradeExecuted):
                    continue
                for order_id in (event.buy_order_id, event.sell_order_id):
                    order = self.orders.get(order_id)
                    if order is not None:
                        wanted.update(
                            dict.fromkeys(_fill_keys(self._accounts[order.account_id], event.instrument), 0)
                        )
                        wanted.update(_house_keys(self._accounts[order.account_id], event.instrument))
        if not wanted:
            return {}
        return {key: state.id for key, state in self.ledger.ensure_accounts(self.session, wanted).items()}

    # --- applying results -----------------------------------------------------------------------

    def apply(self, result: CommandResult, report: BookingReport) -> None:
        now = self.clock.now()
        touched: set[int] = set()
        for event in result.events:
            if isinstance(event, OrderAccepted):
                self._change(event.order_id, OrderChange.ACCEPTED, result.sequence, now, touched)
            elif isinstance(event, OrderRejected):
                self._rejected(result, event, report, now, touched)
            elif isinstance(event, TradeExecuted):
                for side, order_id in ((Side.BUY, event.buy_order_id), (Side.SELL, event.sell_order_id)):
                    if order_id in self.orders and (event.trade_id, side.value) not in self._booked:
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
        self._changed |= touched

    def finish(self) -> None:
        """Give back what the touched orders no longer need, then write the whole batch."""
        for order_id in sorted(self._changed):
            self._release_excess(self.orders[order_id])
        outcomes = self.ledger.transfer_many(self.session, self._transfers) if self._transfers else []
        for request, outcome in zip(self._transfers, outcomes, strict=True):
            invariant(
                not isinstance(outcome, LedgerError),
                f"booking {request.idempotency_key} was refused: {outcome!r}",
            )
        transfers = {
            outcome.idempotency_key: outcome for outcome in outcomes if not isinstance(outcome, LedgerError)
        }
        self._write_fills(transfers)
        repository.save_costs(self.session, self._costs)

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
        account = self._accounts[order.account_id]
        fill = Fill(side, event.instrument, event.price, event.quantity, self.fees(account))
        self._transfers.append(
            TransferRequest(
                idempotency_key=f"trade:{event.trade_id}:{side.value}",
                kind=fill.kind(),
                legs=fill.legs(self._fill_accounts(account, event.instrument)),
                memo=f"{side.value} {event.quantity} {event.instrument} @ {event.price}",
                reference=order_reference(order_id),
                draws=self._draw(order_id, fill.hold_draw),
            )
        )
        trade_date = trade_date_of(event.timestamp_ns)
        self._fills.append(
            _StagedFill(
                ExecutionRecord(
                    id=self.ids.next(),
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
                    settlement_date=self.calendar.add_trading_days(trade_date, SETTLEMENT_TRADING_DAYS),
                    executed_at=now,
                ),
                fill,
                sequence,
            )
        )
        self._book_cost(account.id, fill)
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

    def _draw(self, order_id: int, amount: int) -> tuple[HoldDraw, ...]:
        """Take `amount` from the order's holds, oldest first, keeping their running remainders."""
        draws = []
        holds = self._holds[order_id]
        for position, hold in enumerate(holds):
            if amount <= 0:
                break
            taken = min(amount, hold.remaining)
            if taken:
                draws.append(HoldDraw(hold.id, taken))
                holds[position] = replace(hold, remaining=hold.remaining - taken)
                amount -= taken
        invariant(amount == 0, "an order's holds cover each of its fills")
        return tuple(draws)

    def _book_cost(self, account_id: int, fill: Fill) -> None:
        key = (account_id, fill.instrument)
        quantity, cost = self._costs.get(key, (0, 0))
        shares = fill.quantity * MICRO_PER_SHARE
        if fill.side is Side.BUY:
            self._costs[key] = (quantity + shares, cost + fill.gross_won)
        else:
            self._costs[key] = (max(quantity - shares, 0), reduced_cost(cost, quantity, shares))

    def _write_fills(self, transfers: dict[str, Transfer]) -> None:
        if not self._fills:
            return
        executions, settlements, lines, transfer_ids = [], [], [], []
        for staged in self._fills:
            execution, fill = staged.execution, staged.fill
            transfer = transfers[f"trade:{execution.trade_id}:{execution.side.value}"]
            execution = replace(execution, executed_at=transfer.occurred_at)
            executions.append(execution)
            settlements.append(
                Settlement(
                    self.ids.next(),
                    execution.id,
                    execution.account_id,
                    fill.side,
                    fill.settlement_won,
                    execution.settlement_date,
                )
            )
            lines.append(self._line(execution, fill))
            transfer_ids.append(transfer.id)
        repository.insert_executions(self.session, executions, [staged.sequence for staged in self._fills])
        repository.insert_settlements(self.session, settlements)
        brokerage_repository.insert_transaction_lines(self.session, lines, transfer_ids)

    def _line(self, execution: ExecutionRecord, fill: Fill) -> TransactionLine:
        sign = 1 if fill.side is Side.BUY else -1
        return TransactionLine(
            id=self.ids.next(),
            account_id=execution.account_id,
            kind=TransactionKind.BUY if fill.side is Side.BUY else TransactionKind.SELL,
            occurred_at=execution.executed_at,
            instrument=fill.instrument,
            quantity_micro=sign * fill.quantity * MICRO_PER_SHARE,
            price=fill.price,
            amount_won=fill.gross_won,
            commission_won=fill.commission_won,
            tax_won=fill.tax_won,
            cash_won=fill.cash_effect_won,
            settlement_date=execution.settlement_date,
            memo="",
        )

    # --- holds ----------------------------------------------------------------------------------

    def _release_excess(self, order: OrderRecord) -> None:
        """A finished order gives back all it holds; an open one keeps only its open quantity's
        worst case (a fill at a better price, or a lower modified price, frees the rest)."""
        if order.is_finished:
            needed = 0
        elif order.side is Side.SELL:
            needed = order.open_quantity * MICRO_PER_SHARE
        elif order.price is not None:
            needed = buy_hold_won(
                order.price, order.open_quantity, self.fees(self._accounts[order.account_id])
            )
        else:
            return  # an open market buy holds its upper-limit worst case until it finishes
        holds = self._holds.get(order.id, [])
        excess = sum(hold.remaining for hold in holds) - needed
        for position in range(len(holds) - 1, -1, -1):
            if excess <= 0:
                break
            hold = holds[position]
            amount = min(excess, hold.remaining)
            if amount:
                key = f"order:{order.id}:release:{self._occasion}{order.last_sequence}:{hold.id}"
                self._transfers.append(self.ledger.release_request(hold, amount, key))
                holds[position] = replace(hold, remaining=hold.remaining - amount)
                excess -= amount

    # --- ledger accounts ------------------------------------------------------------------------

    def _fill_accounts(self, account: Account, instrument: str) -> FillAccounts:
        owner, ids = account.owner, self._ledger_accounts
        return FillAccounts(
            cash_held=ids[(owner, CASH, Purpose.HELD)],
            cash_payable=ids[(owner, CASH, Purpose.PAYABLE)],
            cash_receivable=ids[(owner, CASH, Purpose.RECEIVABLE)],
            shares_available=ids[(owner, instrument, Purpose.AVAILABLE)],
            shares_held=ids[(owner, instrument, Purpose.HELD)],
            clearing_cash=ids[(CLEARING_OWNER, CASH, Purpose.CLEARING)],
            clearing_shares=ids[(CLEARING_OWNER, instrument, Purpose.CLEARING)],
            revenue=ids[(firm_owner(account.firm.id), CASH, Purpose.REVENUE)],
            tax=ids[(TAX_OWNER, CASH, Purpose.TAX)],
        )


def _fill_keys(account: Account, instrument: str) -> list[AccountKey]:
    """The customer's own ledger accounts a fill can move (floored at zero)."""
    owner = account.owner
    return [
        (owner, CASH, Purpose.HELD),
        (owner, CASH, Purpose.PAYABLE),
        (owner, CASH, Purpose.RECEIVABLE),
        (owner, instrument, Purpose.AVAILABLE),
        (owner, instrument, Purpose.HELD),
    ]


def _house_keys(account: Account, instrument: str) -> dict[AccountKey, int | None]:
    """The clearing house's, the firm's and the tax authority's accounts (no floor)."""
    return {
        (CLEARING_OWNER, CASH, Purpose.CLEARING): None,
        (CLEARING_OWNER, instrument, Purpose.CLEARING): None,
        (firm_owner(account.firm.id), CASH, Purpose.REVENUE): None,
        (TAX_OWNER, CASH, Purpose.TAX): None,
    }
