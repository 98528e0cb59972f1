"""The venue's order vocabulary: sides, order types, time in force, statuses and reason codes.

Every enum value here is a stable wire code: clients branch on it, so a value never changes once
published. The order life cycle is a transition table (`ORDER_TRANSITIONS`), not scattered ifs.

Quantities at the venue are whole shares (KRX trades whole shares); prices are integer won on the
KRX tick grid. Fractional shares live in the brokerage, which aggregates them into whole-share orders.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, final


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    DAY = "day"  # rests until filled, cancelled or the close (KRX orders are day orders)
    IOC = "ioc"  # fills what it can at once; the remainder is cancelled (IOC, 조건부 IOC)
    FOK = "fok"  # fills completely at once or is rejected, leaving the book untouched (FOK)


class OrderStatus(StrEnum):
    OPEN = "open"  # accepted, nothing filled yet
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"  # by request, or the unfilled remainder of an IOC or market order
    EXPIRED = "expired"  # a day order still open at the close


class OrderAction(StrEnum):
    FILL_PART = "fill_part"  # a fill that leaves quantity open
    FILL_REST = "fill_rest"  # a fill that leaves nothing open
    CANCEL = "cancel"
    EXPIRE = "expire"


_LIVE = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)

ORDER_TRANSITIONS: Final[dict[tuple[OrderStatus, OrderAction], OrderStatus]] = {
    **{(status, OrderAction.FILL_PART): OrderStatus.PARTIALLY_FILLED for status in _LIVE},
    **{(status, OrderAction.FILL_REST): OrderStatus.FILLED for status in _LIVE},
    **{(status, OrderAction.CANCEL): OrderStatus.CANCELLED for status in _LIVE},
    **{(status, OrderAction.EXPIRE): OrderStatus.EXPIRED for status in _LIVE},
}
FINISHED_STATUSES: Final = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED})


class CancelReason(StrEnum):
    REQUESTED = "requested"  # a CancelOrder command
    UNFILLED_REMAINDER = "unfilled_remainder"  # what an IOC or market order could not fill at once


class RejectReason(StrEnum):
    """Why a command changed nothing. Stable codes; the engine returns them, it never raises."""

    UNKNOWN_INSTRUMENT = "unknown_instrument"
    MARKET_CLOSED = "market_closed"
    NOT_ALLOWED_IN_AUCTION = "not_allowed_in_auction"  # market, IOC and FOK orders during a call period
    INVALID_PHASE_TRANSITION = "invalid_phase_transition"
    INVALID_ORDER_ID = "invalid_order_id"  # not between 1 and ORDER_ID_MAX
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    UNKNOWN_ORDER = "unknown_order"  # no such order today (or not on this instrument)
    ORDER_NOT_OPEN = "order_not_open"  # already filled, cancelled or expired
    PRICE_OFF_TICK = "price_off_tick"
    PRICE_OUTSIDE_LIMITS = "price_outside_limits"
    MARKET_ORDER_WITH_PRICE = "market_order_with_price"  # a market order carries price 0
    QUANTITY_NOT_POSITIVE = "quantity_not_positive"
    QUANTITY_ABOVE_MAXIMUM = "quantity_above_maximum"
    NOTHING_TO_MODIFY = "nothing_to_modify"  # same price and same open quantity
    NO_LIQUIDITY = "no_liquidity"  # a market order with nothing on the other side
    FOK_NOT_FILLABLE = "fok_not_fillable"
    BOOK_FULL = "book_full"  # ORDERS_RESTING_PER_BOOK_MAX reached
    ORDER_CAPACITY_EXCEEDED = "order_capacity_exceeded"  # ORDERS_PER_DAY_MAX reached


@final
class OrderState:
    """A read-only copy of one order's state, for queries (the engine's own record is mutable)."""

    __slots__ = (
        "cancelled_quantity",
        "filled_quantity",
        "instrument",
        "open_quantity",
        "order_id",
        "order_type",
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
        quantity: int,
        open_quantity: int,
        filled_quantity: int,
        cancelled_quantity: int,
        status: OrderStatus,
    ) -> None:
        self.order_id: Final = order_id
        self.instrument: Final = instrument
        self.side: Final = side
        self.order_type: Final = order_type
        self.time_in_force: Final = time_in_force
        self.price: Final = price
        self.quantity: Final = quantity  # everything ever submitted: the order plus any increases
        self.open_quantity: Final = open_quantity
        self.filled_quantity: Final = filled_quantity
        self.cancelled_quantity: Final = cancelled_quantity  # cancelled, reduced, expired
        self.status: Final = status

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def __repr__(self) -> str:
        return (
            f"OrderState(order_id={self.order_id}, {self.side.value} {self.instrument} "
            f"{self.quantity}@{self.price}, open={self.open_quantity}, filled={self.filled_quantity}, "
            f"cancelled={self.cancelled_quantity}, status={self.status.value})"
        )
