"""The order chain's rules, pure: order states, pre-trade checks, what an order holds, and the
ledger legs of a fill and of its settlement.

Money flows (every amount in won, every quantity of shares in micro-units in the ledger):

    buy fill, value g = price x shares, commission c:
        buyer cash held      -(g + c)    (drawn from the order's hold)
        buyer cash payable   +g          (owed to the clearing house on the settlement date)
        firm revenue         +c
        clearing shares      -shares     buyer shares available +shares  (positions are booked
                                                                        on the trade date)
    sell fill, value g, commission c, tax t:
        seller shares held   -shares     (drawn from the order's hold)   clearing shares +shares
        clearing cash        -g
        seller cash receivable +(g - c - t)   firm revenue +c   tax authority +t
    settlement (T+2):
        buy:  buyer payable -g,                  clearing cash +g
        sell: seller receivable -(g - c - t),    seller cash available +(g - c - t)

So 예수금 (cash today) = available + held + payable; D+1 and D+2 add what settles by then; the
withdrawable amount is what is available; sale proceeds become usable when they settle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from backbone.brokerage.fees import FeeSchedule
from backbone.brokerage.trading.errors import (
    InsufficientBuyingPower,
    InsufficientShares,
    MarketClosed,
    NotAllowedInAuction,
    OrderValueTooLarge,
    PriceOffTick,
    PriceOutsideLimits,
    PriceRequired,
    PriceWithMarketOrder,
    QuantityAboveMaximum,
    QuantityNotPositive,
)
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from backbone.kit.money import MICRO_PER_SHARE, is_on_tick
from backbone.ledger.domain import CASH, HoldDraw, Kind, Leg

ORDER_QUANTITY_MAX = 1_000_000  # shares per order; the venue allows more, a firm allows this
ORDER_VALUE_WON_MAX = 10_000_000_000  # 100억 won per order
ORDERS_OPEN_PER_ACCOUNT_MAX = 1_000
CLIENT_ORDER_KEY_LENGTH_MAX = 100


class OrderStatus(StrEnum):
    NEW = "new"  # admitted and reserved, not yet acknowledged by the venue
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


FINISHED = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class OrderChange(StrEnum):
    """What the venue said about an order."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FILLED_IN_PART = "filled_in_part"
    FILLED = "filled"
    MODIFIED = "modified"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TRANSITIONS: dict[tuple[OrderStatus, OrderChange], OrderStatus] = {
    (OrderStatus.NEW, OrderChange.ACCEPTED): OrderStatus.ACCEPTED,
    (OrderStatus.NEW, OrderChange.REJECTED): OrderStatus.REJECTED,
    (OrderStatus.ACCEPTED, OrderChange.FILLED_IN_PART): OrderStatus.PARTIALLY_FILLED,
    (OrderStatus.ACCEPTED, OrderChange.FILLED): OrderStatus.FILLED,
    (OrderStatus.ACCEPTED, OrderChange.MODIFIED): OrderStatus.ACCEPTED,
    (OrderStatus.ACCEPTED, OrderChange.CANCELLED): OrderStatus.CANCELLED,
    (OrderStatus.ACCEPTED, OrderChange.EXPIRED): OrderStatus.EXPIRED,
    (OrderStatus.PARTIALLY_FILLED, OrderChange.FILLED_IN_PART): OrderStatus.PARTIALLY_FILLED,
    (OrderStatus.PARTIALLY_FILLED, OrderChange.FILLED): OrderStatus.FILLED,
    (OrderStatus.PARTIALLY_FILLED, OrderChange.MODIFIED): OrderStatus.PARTIALLY_FILLED,
    (OrderStatus.PARTIALLY_FILLED, OrderChange.CANCELLED): OrderStatus.CANCELLED,
    (OrderStatus.PARTIALLY_FILLED, OrderChange.EXPIRED): OrderStatus.EXPIRED,
}


def next_status(status: OrderStatus, change: OrderChange) -> OrderStatus:
    """The status after a change; a change the table does not allow is a broken venue contract."""
    following = TRANSITIONS.get((status, change))
    if following is None:
        raise ValueError(f"an order that is {status} cannot become {change}")
    return following


@dataclass(frozen=True, slots=True)
class Market:
    """What the venue says about an instrument right now, for pre-trade checks."""

    phase: SessionPhase
    lower_limit: int
    upper_limit: int
    last_price: int  # today's last trade, else the base price


@dataclass(frozen=True, slots=True)
class OrderTicket:
    """An order as a customer asks for it, before any check."""

    instrument: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: int | None
    quantity: int


def check_ticket(ticket: OrderTicket, market: Market) -> None:
    """Everything about an order that needs no account: quantity, price grid and limits, session."""
    if ticket.quantity <= 0:
        raise QuantityNotPositive(f"the quantity must be at least 1 share, got {ticket.quantity}")
    if ticket.quantity > ORDER_QUANTITY_MAX:
        raise QuantityAboveMaximum(f"an order is at most {ORDER_QUANTITY_MAX:,} shares")
    if ticket.order_type is OrderType.MARKET:
        if ticket.price is not None:
            raise PriceWithMarketOrder("a market order carries no price")
    else:
        check_limit_price(ticket.price, market)
    check_session(ticket, market.phase)
    if reference_price(ticket, market) * ticket.quantity > ORDER_VALUE_WON_MAX:
        raise OrderValueTooLarge(f"an order is worth at most {ORDER_VALUE_WON_MAX:,} won")


def check_limit_price(price: int | None, market: Market) -> int:
    if price is None:
        raise PriceRequired("a limit order needs a price")
    if not market.lower_limit <= price <= market.upper_limit:
        raise PriceOutsideLimits(
            f"{price:,} won is outside today's limits {market.lower_limit:,} to {market.upper_limit:,}",
            lower_limit=market.lower_limit,
            upper_limit=market.upper_limit,
        )
    if not is_on_tick(price):
        raise PriceOffTick(f"{price:,} won is not on the price grid (호가단위)")
    return price


def check_session(ticket: OrderTicket, phase: SessionPhase) -> None:
    if phase is SessionPhase.CLOSED:
        raise MarketClosed("the market is closed; orders are taken from 08:30 to 15:30 on trading days")
    in_auction = phase in (SessionPhase.PRE_OPEN_AUCTION, SessionPhase.CLOSING_AUCTION)
    if in_auction and (ticket.order_type is OrderType.MARKET or ticket.time_in_force is not TimeInForce.DAY):
        raise NotAllowedInAuction("during a call auction only day limit orders are taken")


def reference_price(ticket: OrderTicket, market: Market) -> int:
    """The price an order can trade at, at worst: its limit, or for a market buy the upper limit."""
    if ticket.price is not None:
        return ticket.price
    return market.upper_limit if ticket.side is Side.BUY else market.lower_limit


def buy_hold_won(price: int, quantity: int, fees: FeeSchedule) -> int:
    """Cash a buy reserves: its value at its worst price plus the commission on it."""
    return fees.buy_cost(price * quantity)


def check_buying_power(needed_won: int, available_won: int) -> None:
    if needed_won > available_won:
        raise InsufficientBuyingPower(
            f"the order needs {needed_won:,} won including commission; {available_won:,} won can be used",
            needed_won=needed_won,
            available_won=available_won,
        )


def check_shares(needed_shares: int, available_micro: int) -> None:
    if needed_shares * MICRO_PER_SHARE > available_micro:
        raise InsufficientShares(
            f"the order sells {needed_shares:,} shares; {available_micro // MICRO_PER_SHARE:,} can be sold",
            needed_shares=needed_shares,
            available_shares=available_micro // MICRO_PER_SHARE,
        )


# --- booking --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FillAccounts:
    """Ledger account ids a fill moves money between."""

    cash_held: int
    cash_payable: int
    cash_receivable: int
    shares_available: int
    shares_held: int
    clearing_cash: int
    clearing_shares: int
    revenue: int
    tax: int


@dataclass(frozen=True, slots=True)
class Fill:
    side: Side
    instrument: str
    price: int
    quantity: int
    fees: FeeSchedule

    @property
    def gross_won(self) -> int:
        return self.price * self.quantity

    @property
    def commission_won(self) -> int:
        return self.fees.commission(self.gross_won)

    @property
    def tax_won(self) -> int:
        return self.fees.tax(self.gross_won) if self.side is Side.SELL else 0

    @property
    def settlement_won(self) -> int:
        """Cash the fill pays (a buy) or receives (a sale) at settlement, unsigned."""
        if self.side is Side.BUY:
            return self.gross_won
        return self.gross_won - self.commission_won - self.tax_won

    @property
    def cash_effect_won(self) -> int:
        """정산금액 as the customer sees it: signed, fees included."""
        if self.side is Side.BUY:
            return -(self.gross_won + self.commission_won)
        return self.settlement_won

    @property
    def hold_draw(self) -> int:
        """What the fill takes from the order's hold: won for a buy, micro-shares for a sale."""
        if self.side is Side.BUY:
            return self.gross_won + self.commission_won
        return self.quantity * MICRO_PER_SHARE

    def legs(self, accounts: FillAccounts) -> tuple[Leg, ...]:
        shares = self.quantity * MICRO_PER_SHARE
        code = self.instrument
        if self.side is Side.BUY:
            legs = [
                Leg(accounts.cash_held, CASH, -(self.gross_won + self.commission_won)),
                Leg(accounts.cash_payable, CASH, self.gross_won),
                Leg(accounts.clearing_shares, code, -shares),
                Leg(accounts.shares_available, code, shares),
            ]
            if self.commission_won:
                legs.append(Leg(accounts.revenue, CASH, self.commission_won))
            return tuple(legs)
        legs = [
            Leg(accounts.shares_held, code, -shares),
            Leg(accounts.clearing_shares, code, shares),
            Leg(accounts.clearing_cash, CASH, -self.gross_won),
            Leg(accounts.cash_receivable, CASH, self.settlement_won),
        ]
        if self.commission_won:
            legs.append(Leg(accounts.revenue, CASH, self.commission_won))
        if self.tax_won:
            legs.append(Leg(accounts.tax, CASH, self.tax_won))
        return tuple(legs)

    def kind(self) -> Kind:
        return Kind.BUY if self.side is Side.BUY else Kind.SELL

    def draws(self, hold_id: int) -> tuple[HoldDraw, ...]:
        return (HoldDraw(hold_id, self.hold_draw),)


def settlement_legs(
    direction: Side, amount_won: int, accounts: FillAccounts, cash_available: int
) -> tuple[Leg, ...]:
    """T+2: a buyer's payable goes to the clearing house; a seller's receivable becomes cash."""
    if direction is Side.BUY:
        return (Leg(accounts.cash_payable, CASH, -amount_won), Leg(accounts.clearing_cash, CASH, amount_won))
    return (Leg(accounts.cash_receivable, CASH, -amount_won), Leg(cash_available, CASH, amount_won))


def reduced_cost(cost_won: int, quantity_micro: int, sold_micro: int) -> int:
    """Book cost left after selling part of a holding at its average cost (이동평균법)."""
    if sold_micro >= quantity_micro:
        return 0
    return cost_won - cost_won * sold_micro // quantity_micro


@dataclass(frozen=True, slots=True)
class CashProjection:
    """예수금 today and what it will be after the next two settlement days (D+1, D+2)."""

    today: int
    next_day: int
    second_day: int


def project_cash(
    today_won: int, pending: list[tuple[Side, int, date]], next_day: date, second_day: date
) -> CashProjection:
    """`pending` holds (buy pays / sell receives, amount, settlement date) of unsettled fills."""

    def by(day: date) -> int:
        change = 0
        for direction, amount, settles in pending:
            if settles <= day:
                change += amount if direction is Side.SELL else -amount
        return today_won + change

    return CashProjection(today=today_won, next_day=by(next_day), second_day=by(second_day))


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: int
    account_id: int
    client_order_key: str
    instrument: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: int | None
    quantity: int
    open_quantity: int
    filled_quantity: int
    cancelled_quantity: int
    filled_value_won: int
    status: OrderStatus
    reject_code: str | None
    reject_message: str | None
    trade_date: date
    last_sequence: int
    created_at: datetime
    updated_at: datetime

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def average_fill_price(self) -> int | None:
        """Won per share over the fills so far, rounded down; None before the first fill."""
        return self.filled_value_won // self.filled_quantity if self.filled_quantity else None

    def ticket(self) -> OrderTicket:
        return OrderTicket(
            instrument=self.instrument,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            price=self.price,
            quantity=self.quantity,
        )


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    id: int
    trade_id: int
    order_id: int
    account_id: int
    instrument: str
    side: Side
    price: int
    quantity: int
    gross_won: int
    commission_won: int
    tax_won: int
    trade_date: date
    settlement_date: date
    executed_at: datetime


@dataclass(frozen=True, slots=True)
class Settlement:
    id: int
    execution_id: int
    account_id: int
    direction: Side  # buy: the account pays; sell: the account receives
    amount_won: int
    settlement_date: date
