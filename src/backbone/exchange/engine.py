"""The matching engine: every instrument's book, one command at a time, deterministically.

`handle(command)` returns the command's events, in order; it never raises on a business reject
(an `OrderRejected` with a `RejectReason` comes back instead) and it does no I/O and reads no clock.
The same commands in the same order always give the same events, which is what the journal's
replay relies on.

Events of one command, in this order:
- PlaceOrder: OrderAccepted, then TradeExecuted for each fill, then OrderCancelled for an IOC or
  market remainder, then LevelChanged for every level it changed (and during a call period an
  IndicativePriceChanged when the indicative price or volume moved).
- ModifyOrder: OrderModified, then as above. A decrease at the same price keeps time priority;
  a price change or an increase goes to the back of the new level and, if it crosses, trades as an
  aggressor.
- CancelOrder: OrderCancelled, LevelChanged.
- ChangeSessionPhase: for each instrument in master order, the auction (AuctionUncrossed and its
  trades) or the expiries of the close, with their LevelChanged; then SessionPhaseChanged.
- Anything refused: exactly one OrderRejected / SessionPhaseChangeRejected, and nothing changed.

Choices where KRX has more rules than Backbone models (documented in docs/exchange.md):
- market orders, IOC and FOK are refused during call periods (KRX admits market orders to the
  auction); a market order trades immediately up to the price limit and its remainder is cancelled;
- order ids are unique within a trading day (the brokerage's 53-bit ids are unique forever);
- the next day's base price is the previous close when the instrument traded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Final, final

from backbone.exchange.auction import publish_indicative, uncross
from backbone.exchange.book import ORDERS_RESTING_PER_BOOK_MAX, Order, OrderBook
from backbone.exchange.messages import (
    CancelOrder,
    ChangeSessionPhase,
    Command,
    Event,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderModified,
    OrderRejected,
    PlaceOrder,
    SessionPhaseChanged,
    SessionPhaseChangeRejected,
)
from backbone.exchange.orders import (
    ORDER_TRANSITIONS,
    CancelReason,
    OrderAction,
    OrderState,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from backbone.exchange.phases import PHASE_TRANSITIONS, PhaseEffect, SessionPhase
from backbone.kit.check import InvariantViolation, invariant

ORDER_QUANTITY_MAX: Final = 10_000_000  # shares in one order
ORDER_ID_MAX: Final = (1 << 63) - 1
ORDERS_PER_DAY_MAX: Final = 20_000_000  # order records kept for the day (duplicate ids, queries)
DEPTH_LEVELS_MAX: Final = 100

NANOSECONDS_PER_SECOND: Final = 1_000_000_000
SEOUL_OFFSET_SECONDS: Final = 9 * 3600  # KST has no daylight saving
SECONDS_PER_DAY: Final = 86_400
UNIX_EPOCH: Final = date(1970, 1, 1)

MARKET: Final = OrderType.MARKET
DAY: Final = TimeInForce.DAY
FOK: Final = TimeInForce.FOK
CLOSED: Final = SessionPhase.CLOSED
CONTINUOUS: Final = SessionPhase.CONTINUOUS
PRE_OPEN_AUCTION: Final = SessionPhase.PRE_OPEN_AUCTION
CLOSING_AUCTION: Final = SessionPhase.CLOSING_AUCTION
CANCEL: Final = OrderAction.CANCEL
EXPIRE: Final = OrderAction.EXPIRE


def seoul_trading_day(timestamp_ns: int) -> str:
    """The KST calendar date of an instant, as ISO text."""
    seconds = timestamp_ns // NANOSECONDS_PER_SECOND + SEOUL_OFFSET_SECONDS
    return (UNIX_EPOCH + timedelta(days=seconds // SECONDS_PER_DAY)).isoformat()


@final
class MatchingEngine:
    __slots__ = (
        "books",
        "call_period",
        "last_trade_id",
        "orders",
        "orders_per_day_max",
        "orders_resting_per_book_max",
        "phase",
        "trading_day",
    )

    def __init__(
        self,
        base_prices: Mapping[str, int],
        *,
        orders_per_day_max: int = ORDERS_PER_DAY_MAX,
        orders_resting_per_book_max: int = ORDERS_RESTING_PER_BOOK_MAX,
    ) -> None:
        """One book per instrument code, each with its base price (기준가격) in won. The limits may be
        set lower than the defaults (a test, a small demo), never higher."""
        invariant(0 < orders_per_day_max <= ORDERS_PER_DAY_MAX, "orders per day within ORDERS_PER_DAY_MAX")
        invariant(
            0 < orders_resting_per_book_max <= ORDERS_RESTING_PER_BOOK_MAX,
            "resting orders per book within ORDERS_RESTING_PER_BOOK_MAX",
        )
        self.orders_per_day_max = orders_per_day_max
        self.orders_resting_per_book_max = orders_resting_per_book_max
        self.books: dict[str, OrderBook] = {
            code: OrderBook(code, price) for code, price in base_prices.items()
        }
        self.orders: dict[int, Order] = {}  # every order of the trading day, open or finished
        self.phase = CLOSED
        self.call_period = False
        self.trading_day = ""
        self.last_trade_id = 0

    def handle(self, command: Command) -> list[Event]:
        # Most frequent first: the exchange-core mix is mostly modifications.
        if isinstance(command, ModifyOrder):
            return self.modify(command)
        if isinstance(command, PlaceOrder):
            return self.place(command)
        if isinstance(command, CancelOrder):
            return self.cancel(command)
        if isinstance(command, ChangeSessionPhase):
            return self.change_phase(command)
        raise InvariantViolation(f"unknown command {command!r}")

    # ── new orders ────────────────────────────────────────────────────────────────────────────

    def place(self, command: PlaceOrder) -> list[Event]:
        instrument = command.instrument
        order_id = command.order_id
        timestamp_ns = command.timestamp_ns
        book = self.books.get(instrument)
        if book is None:
            return [OrderRejected(instrument, order_id, RejectReason.UNKNOWN_INSTRUMENT, timestamp_ns)]
        index = self.check_new_order(book, command)
        if not isinstance(index, int):
            return [OrderRejected(instrument, order_id, index, timestamp_ns)]
        order = Order(
            order_id,
            instrument,
            command.side,
            command.order_type,
            command.time_in_force,
            command.price,
            index,
            command.quantity,
        )
        self.orders[order_id] = order
        events: list[Event] = [
            OrderAccepted(
                instrument,
                order_id,
                command.side,
                command.order_type,
                command.time_in_force,
                command.price,
                command.quantity,
                timestamp_ns,
            )
        ]
        if self.call_period:
            book.rest(order)
            book.emit_level_changes(timestamp_ns, events)
            publish_indicative(book, timestamp_ns, events)
            return events
        if book.crosses(order):
            self.last_trade_id = book.match(order, self.last_trade_id, timestamp_ns, events)
        if order.open_quantity > 0:
            if command.order_type is MARKET or command.time_in_force is not DAY:
                self.cancel_remainder(order, timestamp_ns, events)
            else:
                book.rest(order)
        book.emit_level_changes(timestamp_ns, events)
        if book.best_bid >= book.best_ask:
            raise InvariantViolation(f"continuous book {instrument} crossed")
        return events

    def check_new_order(  # noqa: PLR0911, PLR0912 - one early return per reject reason, in priority order
        self, book: OrderBook, command: PlaceOrder
    ) -> int | RejectReason:
        """The tick index the order may trade up to, or why it is refused."""
        if self.phase is CLOSED:
            return RejectReason.MARKET_CLOSED
        order_id = command.order_id
        if order_id < 1 or order_id > ORDER_ID_MAX:
            return RejectReason.INVALID_ORDER_ID
        if order_id in self.orders:
            return RejectReason.DUPLICATE_ORDER_ID
        quantity = command.quantity
        if quantity <= 0:
            return RejectReason.QUANTITY_NOT_POSITIVE
        if quantity > ORDER_QUANTITY_MAX:
            return RejectReason.QUANTITY_ABOVE_MAXIMUM
        is_market = command.order_type is MARKET
        is_buy = command.side is Side.BUY
        if is_market:
            if command.price != 0:
                return RejectReason.MARKET_ORDER_WITH_PRICE
            limit = len(book.prices) - 1 if is_buy else 0
        else:
            found = book.price_index.get(command.price)
            if found is None:
                return price_reject_reason(book, command.price)
            limit = found
        time_in_force = command.time_in_force
        if self.call_period and (is_market or time_in_force is not DAY):
            return RejectReason.NOT_ALLOWED_IN_AUCTION
        if len(self.orders) >= self.orders_per_day_max:
            return RejectReason.ORDER_CAPACITY_EXCEEDED
        if book.resting_count >= self.orders_resting_per_book_max:
            return RejectReason.BOOK_FULL
        if self.call_period:
            return limit
        if is_market and (book.best_ask == len(book.prices) if is_buy else book.best_bid < 0):
            return RejectReason.NO_LIQUIDITY
        if time_in_force is FOK and not book.fillable(is_buy, limit, quantity):
            return RejectReason.FOK_NOT_FILLABLE
        return limit

    def cancel_remainder(self, order: Order, timestamp_ns: int, events: list[Event]) -> None:
        quantity = order.open_quantity
        order.cancelled_quantity += quantity
        order.open_quantity = 0
        order.status = ORDER_TRANSITIONS[(order.status, CANCEL)]
        events.append(
            OrderCancelled(
                order.instrument, order.order_id, quantity, CancelReason.UNFILLED_REMAINDER, timestamp_ns
            )
        )

    # ── modifications and cancels ─────────────────────────────────────────────────────────────

    def find_open_order(self, instrument: str, order_id: int) -> Order | RejectReason:
        if self.phase is CLOSED:
            return RejectReason.MARKET_CLOSED
        order = self.orders.get(order_id)
        if order is None or order.instrument != instrument:
            return RejectReason.UNKNOWN_ORDER
        if order.open_quantity == 0:
            return RejectReason.ORDER_NOT_OPEN
        return order

    def modify(self, command: ModifyOrder) -> list[Event]:  # noqa: PLR0911, PLR0912 - a reject ladder
        instrument = command.instrument
        order_id = command.order_id
        timestamp_ns = command.timestamp_ns
        book = self.books.get(instrument)
        if book is None:
            return [OrderRejected(instrument, order_id, RejectReason.UNKNOWN_INSTRUMENT, timestamp_ns)]
        found = self.find_open_order(instrument, order_id)
        if not isinstance(found, Order):
            return [OrderRejected(instrument, order_id, found, timestamp_ns)]
        order = found
        price = command.price
        quantity = command.quantity
        if quantity <= 0:
            return [OrderRejected(instrument, order_id, RejectReason.QUANTITY_NOT_POSITIVE, timestamp_ns)]
        if quantity > ORDER_QUANTITY_MAX:
            return [OrderRejected(instrument, order_id, RejectReason.QUANTITY_ABOVE_MAXIMUM, timestamp_ns)]
        index = book.price_index.get(price)
        if index is None:
            return [OrderRejected(instrument, order_id, price_reject_reason(book, price), timestamp_ns)]
        open_quantity = order.open_quantity
        if price == order.price:
            if quantity == open_quantity:
                return [OrderRejected(instrument, order_id, RejectReason.NOTHING_TO_MODIFY, timestamp_ns)]
            if quantity < open_quantity:
                book.reduce(order, quantity)
                events: list[Event] = [
                    OrderModified(instrument, order_id, price, quantity, True, timestamp_ns)
                ]
                book.emit_level_changes(timestamp_ns, events)
                if self.call_period:
                    publish_indicative(book, timestamp_ns, events)
                return events
        # A new price or more quantity: the order loses its place and re-enters as if new.
        book.unlink(order)
        if quantity > open_quantity:
            order.quantity += quantity - open_quantity
        else:
            order.cancelled_quantity += open_quantity - quantity
        order.price = price
        order.index = index
        order.open_quantity = quantity
        events = [OrderModified(instrument, order_id, price, quantity, False, timestamp_ns)]
        if self.call_period:
            book.rest(order)
            book.emit_level_changes(timestamp_ns, events)
            publish_indicative(book, timestamp_ns, events)
            return events
        if book.crosses(order):
            self.last_trade_id = book.match(order, self.last_trade_id, timestamp_ns, events)
        if order.open_quantity > 0:
            book.rest(order)
        book.emit_level_changes(timestamp_ns, events)
        if book.best_bid >= book.best_ask:
            raise InvariantViolation(f"continuous book {instrument} crossed")
        return events

    def cancel(self, command: CancelOrder) -> list[Event]:
        instrument = command.instrument
        order_id = command.order_id
        timestamp_ns = command.timestamp_ns
        book = self.books.get(instrument)
        if book is None:
            return [OrderRejected(instrument, order_id, RejectReason.UNKNOWN_INSTRUMENT, timestamp_ns)]
        found = self.find_open_order(instrument, order_id)
        if not isinstance(found, Order):
            return [OrderRejected(instrument, order_id, found, timestamp_ns)]
        order = found
        quantity = order.open_quantity
        book.unlink(order)
        order.open_quantity = 0
        order.cancelled_quantity += quantity
        order.status = ORDER_TRANSITIONS[(order.status, CANCEL)]
        events: list[Event] = [
            OrderCancelled(instrument, order_id, quantity, CancelReason.REQUESTED, timestamp_ns)
        ]
        book.emit_level_changes(timestamp_ns, events)
        if self.call_period:
            publish_indicative(book, timestamp_ns, events)
        return events

    # ── the trading day ───────────────────────────────────────────────────────────────────────

    def change_phase(self, command: ChangeSessionPhase) -> list[Event]:
        timestamp_ns = command.timestamp_ns
        effect = PHASE_TRANSITIONS.get((self.phase, command.phase))
        if effect is None:
            return [
                SessionPhaseChangeRejected(command.phase, RejectReason.INVALID_PHASE_TRANSITION, timestamp_ns)
            ]
        events: list[Event] = []
        if effect is PhaseEffect.START_DAY:
            for order in self.orders.values():
                invariant(order.open_quantity == 0, "nothing is open when a new day starts")
            self.orders.clear()
            for book in self.books.values():
                book.start_day()
            self.trading_day = seoul_trading_day(timestamp_ns)
        elif effect is PhaseEffect.UNCROSS:
            self.uncross_all(timestamp_ns, events)
        elif effect is PhaseEffect.UNCROSS_AND_EXPIRE:
            self.uncross_all(timestamp_ns, events)
            for book in self.books.values():
                self.expire(book, timestamp_ns, events)
        self.phase = command.phase
        self.call_period = command.phase is PRE_OPEN_AUCTION or command.phase is CLOSING_AUCTION
        events.append(SessionPhaseChanged(command.phase, self.trading_day, timestamp_ns))
        return events

    def uncross_all(self, timestamp_ns: int, events: list[Event]) -> None:
        phase = self.phase
        for book in self.books.values():
            self.last_trade_id = uncross(book, phase, self.last_trade_id, timestamp_ns, events)
            book.emit_level_changes(timestamp_ns, events)

    def expire(self, book: OrderBook, timestamp_ns: int, events: list[Event]) -> None:
        for side in (Side.BUY, Side.SELL):
            for order in book.resting(side):
                quantity = order.open_quantity
                book.unlink(order)
                order.open_quantity = 0
                order.cancelled_quantity += quantity
                order.status = ORDER_TRANSITIONS[(order.status, EXPIRE)]
                events.append(OrderExpired(book.instrument, order.order_id, quantity, timestamp_ns))
        book.emit_level_changes(timestamp_ns, events)

    # ── queries ───────────────────────────────────────────────────────────────────────────────

    @property
    def instruments(self) -> list[str]:
        return list(self.books)

    def order_state(self, order_id: int) -> OrderState | None:
        """Any order of the current trading day, open or finished."""
        order = self.orders.get(order_id)
        return None if order is None else order.state()

    def depth(self, instrument: str, side: Side, count: int = 10) -> list[tuple[int, int, int]]:
        """(price, quantity, order count) from the best level outward; 10 levels is 10단계 호가."""
        invariant(0 < count <= DEPTH_LEVELS_MAX, "depth is between 1 and DEPTH_LEVELS_MAX levels")
        return self.books[instrument].depth(side, count)

    def best_bid(self, instrument: str) -> int | None:
        book = self.books[instrument]
        return book.prices[book.best_bid] if book.best_bid >= 0 else None

    def best_ask(self, instrument: str) -> int | None:
        book = self.books[instrument]
        return book.prices[book.best_ask] if book.best_ask < len(book.prices) else None

    def resting_orders(self, instrument: str, side: Side) -> list[OrderState]:
        """Resting orders of one side in priority order."""
        return [order.state() for order in self.books[instrument].resting(side)]

    def check_invariants(self) -> None:
        for book in self.books.values():
            book.check_invariants()
            if self.phase is CONTINUOUS:
                invariant(book.best_bid < book.best_ask, f"continuous book {book.instrument} is not crossed")
        for order in self.orders.values():
            invariant(
                order.quantity == order.open_quantity + order.filled_quantity + order.cancelled_quantity,
                f"order {order.order_id} conserves its quantity",
            )
            invariant(
                (order.level is not None) == (order.open_quantity > 0), "open orders rest, others do not"
            )
            invariant(
                order.status is not OrderStatus.OPEN or order.filled_quantity == 0, "open means unfilled"
            )


def price_reject_reason(book: OrderBook, price: int) -> RejectReason:
    """Why a limit price has no place on this book's grid today."""
    if price < book.lower_limit or price > book.upper_limit:
        return RejectReason.PRICE_OUTSIDE_LIMITS
    return RejectReason.PRICE_OFF_TICK


def engine_for(listings: Iterable[tuple[str, int]]) -> MatchingEngine:
    """An engine over (code, base price) pairs, e.g. from the instrument master."""
    return MatchingEngine(dict(listings))
