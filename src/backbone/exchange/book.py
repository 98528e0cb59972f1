"""One instrument's order book: price levels on the KRX tick grid, orders in time priority.

Layout, chosen for speed in CPython (and for mypyc, which compiles this module when built):

- Every valid price of the day (the tick grid between the daily price limits) has an index, and
  each side has one pre-allocated `PriceLevel` per index. `price_index` maps a price to its index,
  so one dict lookup both validates a price (on the grid and inside the limits) and finds its level.
- A level is an intrusive doubly linked list of `Order`s (head = oldest = first to fill), so
  removing any order is O(1) and nothing is allocated when a level appears or empties.
- `best_bid` / `best_ask` are indexes of the best non-empty levels (-1 / len(prices) when a side
  is empty). When the best level empties the pointer walks to the next non-empty one; the walk is
  bounded by the number of ticks between the limits (at most a few hundred).
- Every level changed by a command is remembered once in `touched`, so that the engine can report
  its new totals (`LevelChanged`) after the command without scanning the book.
"""

from __future__ import annotations

from typing import Final, final

from backbone.exchange.messages import Event, LevelChanged, TradeExecuted
from backbone.exchange.orders import (
    ORDER_TRANSITIONS,
    OrderAction,
    OrderState,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from backbone.kit.check import InvariantViolation, invariant
from backbone.kit.money import is_on_tick, price_limits, tick_size

ORDERS_RESTING_PER_BOOK_MAX: Final = 1_000_000
PRICE_TICKS_PER_BOOK_MAX: Final = 2_000  # ±30% spans at most ~720 ticks on the KRX grid

# Module constants, so the hot path reads a C global (compiled) or one dict (interpreted).
BUY: Final = Side.BUY
SELL: Final = Side.SELL
FILL_PART: Final = OrderAction.FILL_PART
FILL_REST: Final = OrderAction.FILL_REST


@final
class Order:
    """The engine's own, mutable record of an order. Never handed out: queries get `OrderState`.

    Quantities obey `quantity == open_quantity + filled_quantity + cancelled_quantity` at all times.
    """

    __slots__ = (
        "cancelled_quantity",
        "filled_quantity",
        "index",
        "instrument",
        "is_buy",
        "level",
        "next",
        "open_quantity",
        "order_id",
        "order_type",
        "previous",
        "price",
        "quantity",
        "side",
        "status",
        "time_in_force",
    )

    def __init__(
        self,
        order_id: int,
        instrument: str,
        side: Side,
        order_type: OrderType,
        time_in_force: TimeInForce,
        price: int,
        index: int,
        quantity: int,
    ) -> None:
        self.order_id = order_id
        self.instrument = instrument
        self.side = side
        self.is_buy = side is BUY
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.price = price
        self.index = index  # tick index of price; for a market order, the limit it may sweep to
        self.quantity = quantity
        self.open_quantity = quantity
        self.filled_quantity = 0
        self.cancelled_quantity = 0
        self.status = OrderStatus.OPEN
        self.level: PriceLevel | None = None
        self.previous: Order | None = None
        self.next: Order | None = None

    def state(self) -> OrderState:
        return OrderState(
            order_id=self.order_id,
            instrument=self.instrument,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            price=self.price,
            quantity=self.quantity,
            open_quantity=self.open_quantity,
            filled_quantity=self.filled_quantity,
            cancelled_quantity=self.cancelled_quantity,
            status=self.status,
        )


@final
class PriceLevel:
    __slots__ = ("head", "index", "order_count", "price", "quantity", "side", "tail", "touched")

    def __init__(self, side: Side, price: int, index: int) -> None:
        self.side = side
        self.price = price
        self.index = index
        self.quantity = 0
        self.order_count = 0
        self.head: Order | None = None
        self.tail: Order | None = None
        self.touched = False


def tick_grid(lower: int, upper: int) -> list[int]:
    """Every valid price from `lower` to `upper` inclusive, walking the KRX tick table."""
    prices: list[int] = []
    price = lower
    while price <= upper:
        prices.append(price)
        price += tick_size(price)
    invariant(len(prices) <= PRICE_TICKS_PER_BOOK_MAX, "too many ticks between the price limits")
    return prices


@final
class OrderBook:
    __slots__ = (
        "asks",
        "base_price",
        "best_ask",
        "best_bid",
        "bids",
        "indicative_price",
        "indicative_volume",
        "instrument",
        "last_price",
        "lower_limit",
        "price_index",
        "prices",
        "resting_count",
        "touched",
        "upper_limit",
    )

    def __init__(self, instrument: str, base_price: int) -> None:
        self.instrument = instrument
        self.resting_count = 0
        self.last_price = 0  # price of today's last trade; 0 before the first
        self.indicative_price: int | None = None
        self.indicative_volume = 0
        self.touched: list[PriceLevel] = []
        self.base_price = 0
        self.lower_limit = 0
        self.upper_limit = 0
        self.prices: list[int] = []
        self.price_index: dict[int, int] = {}
        self.bids: list[PriceLevel] = []
        self.asks: list[PriceLevel] = []
        self.best_bid = -1
        self.best_ask = 0
        self.set_base_price(base_price)

    def set_base_price(self, base_price: int) -> None:
        """기준가격: the day's limits and tick grid follow from it. Only on an empty book."""
        invariant(self.resting_count == 0, "the base price changes only while the book is empty")
        invariant(is_on_tick(base_price), f"base price {base_price} is off the tick grid")
        self.base_price = base_price
        self.lower_limit, self.upper_limit = price_limits(base_price)
        self.prices = tick_grid(self.lower_limit, self.upper_limit)
        self.price_index = {price: index for index, price in enumerate(self.prices)}
        self.bids = [PriceLevel(BUY, price, index) for index, price in enumerate(self.prices)]
        self.asks = [PriceLevel(SELL, price, index) for index, price in enumerate(self.prices)]
        self.best_bid = -1
        self.best_ask = len(self.prices)

    def start_day(self) -> None:
        """A new trading day: yesterday's close becomes the base price (if anything traded)."""
        if self.last_price > 0:
            self.set_base_price(self.last_price)
        self.last_price = 0
        self.indicative_price = None
        self.indicative_volume = 0

    @property
    def reference_price(self) -> int:
        """For an auction's last tie-break: today's last trade price, else the base price."""
        return self.last_price if self.last_price > 0 else self.base_price

    # ── levels ────────────────────────────────────────────────────────────────────────────────

    def rest(self, order: Order) -> None:
        """Queue `order` at the back of its price level."""
        index = order.index
        if order.is_buy:
            level = self.bids[index]
            if index > self.best_bid:  # noqa: PLR1730 - a compare is cheaper than max() here
                self.best_bid = index
        else:
            level = self.asks[index]
            if index < self.best_ask:  # noqa: PLR1730 - a compare is cheaper than min() here
                self.best_ask = index
        tail = level.tail
        order.previous = tail
        order.next = None
        if tail is None:
            level.head = order
        else:
            tail.next = order
        level.tail = order
        level.quantity += order.open_quantity
        level.order_count += 1
        order.level = level
        self.resting_count += 1
        if not level.touched:
            level.touched = True
            self.touched.append(level)

    def unlink(self, order: Order) -> None:
        """Take a resting order out of its level (its own quantities are the caller's to change)."""
        level = order.level
        if level is None:
            raise InvariantViolation(f"order {order.order_id} is not resting")
        previous = order.previous
        following = order.next
        if previous is None:
            level.head = following
        else:
            previous.next = following
        if following is None:
            level.tail = previous
        else:
            following.previous = previous
        order.previous = None
        order.next = None
        order.level = None
        level.quantity -= order.open_quantity
        level.order_count -= 1
        self.resting_count -= 1
        if not level.touched:
            level.touched = True
            self.touched.append(level)
        if level.order_count == 0:
            self.level_emptied(level)

    def reduce(self, order: Order, quantity: int) -> None:
        """Lower a resting order's open quantity in place: it keeps its place in the queue."""
        level = order.level
        if level is None:
            raise InvariantViolation(f"order {order.order_id} is not resting")
        reduction = order.open_quantity - quantity
        invariant(0 < reduction < order.open_quantity, "a reduction leaves some quantity open")
        order.open_quantity = quantity
        order.cancelled_quantity += reduction
        level.quantity -= reduction
        if not level.touched:
            level.touched = True
            self.touched.append(level)

    def level_emptied(self, level: PriceLevel) -> None:
        index = level.index
        if level.side is BUY:
            if index == self.best_bid:
                bids = self.bids
                index -= 1
                while index >= 0 and bids[index].order_count == 0:
                    index -= 1
                self.best_bid = index
        elif index == self.best_ask:
            asks = self.asks
            end = len(asks)
            index += 1
            while index < end and asks[index].order_count == 0:
                index += 1
            self.best_ask = index

    def fill_head(self, level: PriceLevel, quantity: int) -> Order:
        """Fill `quantity` of the oldest order at `level`; it leaves the queue once fully filled."""
        order = level.head
        if order is None:
            raise InvariantViolation(f"no order to fill at {self.instrument} {level.price}")
        open_quantity = order.open_quantity - quantity
        order.open_quantity = open_quantity
        order.filled_quantity += quantity
        level.quantity -= quantity
        if not level.touched:
            level.touched = True
            self.touched.append(level)
        if open_quantity > 0:
            order.status = ORDER_TRANSITIONS[(order.status, FILL_PART)]
            return order
        order.status = ORDER_TRANSITIONS[(order.status, FILL_REST)]
        following = order.next
        level.head = following
        if following is None:
            level.tail = None
        else:
            following.previous = None
        order.next = None
        order.level = None
        level.order_count -= 1
        self.resting_count -= 1
        if level.order_count == 0:
            self.level_emptied(level)
        return order

    # ── continuous matching ───────────────────────────────────────────────────────────────────

    def crosses(self, order: Order) -> bool:
        if order.is_buy:
            return order.index >= self.best_ask
        return order.index <= self.best_bid

    def match(self, order: Order, trade_id: int, timestamp_ns: int, events: list[Event]) -> int:
        """Fill an incoming order against the other side up to its limit index, best price first,
        oldest first; every trade is at the resting order's price. Returns the last trade id used."""
        limit = order.index
        instrument = self.instrument
        price = 0
        if order.is_buy:
            asks = self.asks
            while order.open_quantity > 0 and self.best_ask <= limit:
                level = asks[self.best_ask]
                price = level.price
                head = level.head
                if head is None:
                    raise InvariantViolation(f"best ask level {price} of {instrument} is empty")
                quantity = min(order.open_quantity, head.open_quantity)
                order.open_quantity -= quantity
                order.filled_quantity += quantity
                order.status = ORDER_TRANSITIONS[
                    (order.status, FILL_PART if order.open_quantity > 0 else FILL_REST)
                ]
                passive = self.fill_head(level, quantity)
                trade_id += 1
                events.append(
                    TradeExecuted(
                        trade_id,
                        instrument,
                        price,
                        quantity,
                        order.order_id,
                        passive.order_id,
                        BUY,
                        order.open_quantity,
                        passive.open_quantity,
                        timestamp_ns,
                    )
                )
        else:
            bids = self.bids
            while order.open_quantity > 0 and self.best_bid >= limit:
                level = bids[self.best_bid]
                price = level.price
                head = level.head
                if head is None:
                    raise InvariantViolation(f"best bid level {price} of {instrument} is empty")
                quantity = min(order.open_quantity, head.open_quantity)
                order.open_quantity -= quantity
                order.filled_quantity += quantity
                order.status = ORDER_TRANSITIONS[
                    (order.status, FILL_PART if order.open_quantity > 0 else FILL_REST)
                ]
                passive = self.fill_head(level, quantity)
                trade_id += 1
                events.append(
                    TradeExecuted(
                        trade_id,
                        instrument,
                        price,
                        quantity,
                        passive.order_id,
                        order.order_id,
                        SELL,
                        passive.open_quantity,
                        order.open_quantity,
                        timestamp_ns,
                    )
                )
        if price:
            self.last_price = price
        return trade_id

    def fillable(self, is_buy: bool, limit: int, quantity: int) -> bool:
        """Whether the other side holds at least `quantity` at prices up to the limit index (FOK)."""
        available = 0
        if is_buy:
            asks = self.asks
            index = self.best_ask
            while index <= limit:
                available += asks[index].quantity
                if available >= quantity:
                    return True
                index += 1
        else:
            bids = self.bids
            index = self.best_bid
            while index >= limit and index >= 0:
                available += bids[index].quantity
                if available >= quantity:
                    return True
                index -= 1
        return False

    def emit_level_changes(self, timestamp_ns: int, events: list[Event]) -> None:
        touched = self.touched
        if not touched:
            return
        instrument = self.instrument
        for level in touched:
            level.touched = False
            events.append(
                LevelChanged(
                    instrument, level.side, level.price, level.quantity, level.order_count, timestamp_ns
                )
            )
        touched.clear()

    # ── queries ───────────────────────────────────────────────────────────────────────────────

    def depth(self, side: Side, count: int) -> list[tuple[int, int, int]]:
        """Up to `count` non-empty levels from the best price outward: (price, quantity, orders)."""
        found: list[tuple[int, int, int]] = []
        if side is BUY:
            index, step, end, levels = self.best_bid, -1, -1, self.bids
        else:
            index, step, end, levels = self.best_ask, 1, len(self.asks), self.asks
        while index != end and len(found) < count:
            level = levels[index]
            if level.order_count:
                found.append((level.price, level.quantity, level.order_count))
            index += step
        return found

    def resting(self, side: Side) -> list[Order]:
        """Every resting order of one side, in priority order (best price, then oldest)."""
        found: list[Order] = []
        if side is BUY:
            index, step, end, levels = self.best_bid, -1, -1, self.bids
        else:
            index, step, end, levels = self.best_ask, 1, len(self.asks), self.asks
        while index != end:
            order = levels[index].head
            while order is not None:
                found.append(order)
                order = order.next
            index += step
        return found

    def check_invariants(self) -> None:
        """Walk the whole book and verify every structural rule. For tests and after recovery."""
        for side, levels in ((BUY, self.bids), (SELL, self.asks)):
            for level in levels:
                quantity = 0
                count = 0
                previous: Order | None = None
                order = level.head
                while order is not None:
                    invariant(order.level is level, "an order points at its own level")
                    invariant(order.previous is previous, "the level's links run both ways")
                    invariant(order.side is side and order.index == level.index, "order sits on its price")
                    invariant(order.open_quantity > 0, "a resting order has quantity open")
                    invariant(
                        order.quantity
                        == order.open_quantity + order.filled_quantity + order.cancelled_quantity,
                        "an order's quantity is conserved",
                    )
                    quantity += order.open_quantity
                    count += 1
                    previous = order
                    order = order.next
                invariant(level.tail is previous, "the level's tail is its last order")
                invariant(level.quantity == quantity, f"level {level.price} totals its orders")
                invariant(level.order_count == count, f"level {level.price} counts its orders")
                invariant(not level.touched, "no level is left marked between commands")
            non_empty = [level.index for level in levels if level.order_count]
            if side is BUY:
                invariant(self.best_bid == (max(non_empty) if non_empty else -1), "best bid is the highest")
            else:
                expected = min(non_empty) if non_empty else len(levels)
                invariant(self.best_ask == expected, "best ask is the lowest")
        resting_total = sum(level.order_count for level in self.bids) + sum(
            level.order_count for level in self.asks
        )
        invariant(self.resting_count == resting_total, "the book counts its resting orders")
