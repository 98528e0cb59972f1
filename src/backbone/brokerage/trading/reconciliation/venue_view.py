"""The venue's view of the brokerage's orders, from a replay of the whole journal on a fresh
engine: each order's story in the brokerage's own terms (its events put through the brokerage's
transition table, as booking does), and the books as they rest at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from backbone.brokerage.trading.domain import OrderChange, OrderRecord, OrderStatus, next_status
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.journal import list_segments, read_segment
from backbone.exchange.messages import (
    CommandResult,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    TradeExecuted,
)
from backbone.exchange.orders import OrderType, Side
from backbone.exchange.sequencer import replay
from backbone.kit.ids import ID_MAX

PROGRESS_RESULTS_INTERVAL = 1_000

Progress = Callable[[int, int], None]  # (sequence replayed, the journal's last sequence)


@dataclass(frozen=True, slots=True)
class BookedState:
    """What booking decides about an order, and so what both sides must agree on."""

    status: OrderStatus
    filled_quantity: int
    filled_value_won: int
    open_quantity: int


def state_of(order: OrderRecord) -> BookedState:
    return BookedState(order.status, order.filled_quantity, order.filled_value_won, order.open_quantity)


@dataclass
class VenueOrder:
    """One of the brokerage's orders as the venue's journal tells it, in the brokerage's terms."""

    order_id: int
    side: Side
    order_type: OrderType
    price: int  # now (after modifications); 0 for a market order
    quantity: int  # as placed: what the brokerage's `new` row holds open
    state: BookedState
    trades: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # id: quantity, price, sequence
    changes: list[tuple[int, BookedState]] = field(default_factory=list)  # (sequence, state after it)

    @property
    def last_sequence(self) -> int:
        return self.changes[-1][0] if self.changes else 0

    def change(self, sequence: int, state: BookedState) -> None:
        self.state = state
        if self.changes and self.changes[-1][0] == sequence:
            self.changes[-1] = (sequence, state)  # one result's events are booked together
        else:
            self.changes.append((sequence, state))

    def state_at(self, sequence: int) -> BookedState:
        """The state once every result up to `sequence` is booked (`new` before the first)."""
        found = BookedState(OrderStatus.NEW, 0, 0, self.quantity)
        for changed_at, state in self.changes:
            if changed_at > sequence:
                break
            found = state
        return found

    def first_change_after(self, sequence: int) -> int | None:
        return next((changed_at for changed_at, _ in self.changes if changed_at > sequence), None)

    def trades_up_to(self, sequence: int) -> dict[int, tuple[int, int]]:
        return {
            trade_id: (quantity, price)
            for trade_id, (quantity, price, traded_at) in self.trades.items()
            if traded_at <= sequence
        }

    def fill(self, sequence: int, trade: TradeExecuted, open_quantity: int) -> None:
        self.trades[trade.trade_id] = (trade.quantity, trade.price, sequence)
        state = self.state
        change = OrderChange.FILLED if open_quantity == 0 else OrderChange.FILLED_IN_PART
        self.change(
            sequence,
            BookedState(
                next_status(state.status, change),
                state.filled_quantity + trade.quantity,
                state.filled_value_won + trade.price * trade.quantity,
                open_quantity,
            ),
        )

    def end(self, sequence: int, change: OrderChange) -> None:
        self.change(
            sequence, replace(self.state, status=next_status(self.state.status, change), open_quantity=0)
        )


@dataclass
class VenueView:
    orders: dict[int, VenueOrder]  # the brokerage's id space only
    resting: dict[int, tuple[Side, int, int]]  # order id: side, price, open quantity
    last_sequence: int


def read_venue(
    journal_directory: Path, base_prices: Mapping[str, int], progress: Progress | None = None
) -> VenueView:
    """Replay the whole journal on a fresh engine: every order's story, and the books at the end."""
    engine = MatchingEngine(base_prices)
    orders: dict[int, VenueOrder] = {}
    last = 0
    for result in replayed(journal_directory, base_prices, progress, engine=engine):
        _fold(orders, result)
        last = result.sequence
    resting = {
        order.order_id: (order.side, order.price, order.open_quantity)
        for code in engine.instruments
        for side in Side
        for order in engine.resting_orders(code, side)
        if order.order_id <= ID_MAX
    }
    return VenueView(orders, resting, last)


def replayed(
    directory: Path,
    base_prices: Mapping[str, int],
    progress: Progress | None,
    *,
    engine: MatchingEngine | None = None,
) -> Iterator[CommandResult]:
    total = journal_last_sequence(directory)
    for result in replay(directory, base_prices, engine=engine):
        if progress is not None and result.sequence % PROGRESS_RESULTS_INTERVAL == 0:
            progress(result.sequence, total)
        yield result
    if progress is not None:
        progress(total, total)


def journal_last_sequence(directory: Path) -> int:
    """Read from the last segment alone, so that a progress bar knows its end before the replay."""
    segments = list_segments(directory)
    if not segments:
        return 0
    records = read_segment(segments[-1]).records
    return records[-1][0] if records else segments[-1].first_sequence - 1


def _fold(orders: dict[int, VenueOrder], result: CommandResult) -> None:
    """Follow the brokerage's orders through one result's events, as booking would."""
    sequence = result.sequence
    for event in result.events:
        if isinstance(event, OrderAccepted):
            if event.order_id <= ID_MAX:
                accepted = BookedState(OrderStatus.NEW, 0, 0, event.quantity)
                order = VenueOrder(
                    event.order_id, event.side, event.order_type, event.price, event.quantity, accepted
                )
                order.change(sequence, replace(accepted, status=OrderStatus.ACCEPTED))
                orders[event.order_id] = order
        elif isinstance(event, OrderRejected):
            _fold_rejected(orders, result, event)
        elif isinstance(event, TradeExecuted):
            for order_id, open_quantity in (
                (event.buy_order_id, event.buy_open_quantity),
                (event.sell_order_id, event.sell_open_quantity),
            ):
                if order_id in orders:
                    orders[order_id].fill(sequence, event, open_quantity)
        elif isinstance(event, OrderModified):
            if event.order_id in orders:
                modified = orders[event.order_id]
                modified.price = event.price
                modified.change(sequence, replace(modified.state, open_quantity=event.quantity))
        elif isinstance(event, OrderCancelled | OrderExpired) and event.order_id in orders:
            ending = OrderChange.CANCELLED if isinstance(event, OrderCancelled) else OrderChange.EXPIRED
            orders[event.order_id].end(sequence, ending)


def _fold_rejected(orders: dict[int, VenueOrder], result: CommandResult, event: OrderRejected) -> None:
    """A refused placement is a rejected order; a refused cancel or modification changes nothing
    (and a placement refused for a duplicate id leaves the first order as it was)."""
    command = result.command
    if not isinstance(command, PlaceOrder) or event.order_id > ID_MAX or event.order_id in orders:
        return
    placed = BookedState(OrderStatus.NEW, 0, 0, command.quantity)
    order = VenueOrder(
        command.order_id, command.side, command.order_type, command.price, command.quantity, placed
    )
    order.change(result.sequence, BookedState(OrderStatus.REJECTED, 0, 0, 0))
    orders[order.order_id] = order
