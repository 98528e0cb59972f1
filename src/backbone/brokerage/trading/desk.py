"""The order desk: admits orders (checks and reserves, in one transaction) and turns the venue's
published results into the brokerage's books (in another). Services never commit; the pipeline's
stage boundaries do.

Admission, per request:
- place:  the account is the requester's and active; the ticket passes the venue-independent
          checks; a buy holds its worst-case cost, a sale holds its shares; the order is written
          as `new`; the venue command is returned for the pipeline to submit.
- cancel: the order is the account's and open; the venue command is returned.
- modify: as cancel, and a buy whose worst-case cost rises holds the difference first.
A refusal raises a typed error and writes nothing (the pipeline runs each admission in a
savepoint so one refusal does not undo the batch).

Booking, per published result, in sequence order, exactly once (the venue cursor and the
(trade id, side) uniqueness make a replay harmless): the order's status follows the venue's
events through the transition table; fills draw on the order's holds and post the legs of
`domain.Fill`; a finished order gives back whatever it still holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account
from backbone.brokerage.errors import AccountClosed, UnknownAccount
from backbone.brokerage.fees import FeeSchedule
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import Booker, BookingReport, order_reference, orders_named
from backbone.brokerage.trading.domain import (
    CLIENT_ORDER_KEY_LENGTH_MAX,
    ORDERS_OPEN_PER_ACCOUNT_MAX,
    OrderRecord,
    OrderStatus,
    OrderTicket,
    buy_hold_won,
    check_buying_power,
    check_limit_price,
    check_shares,
    check_ticket,
    reference_price,
)
from backbone.brokerage.trading.errors import (
    ClientOrderKeyReused,
    NothingToModify,
    OrderNotOpen,
    TooManyOpenOrders,
    UnknownOrder,
)
from backbone.brokerage.trading.venue import Venue
from backbone.errors import InvalidInput
from backbone.exchange.calendar import TradingCalendar
from backbone.exchange.messages import (
    CancelOrder,
    Command,
    CommandResult,
    ModifyOrder,
    PlaceOrder,
)
from backbone.exchange.orders import OrderType, Side
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.money import MICRO_PER_SHARE
from backbone.ledger.domain import CASH
from backbone.ledger.service import Ledger


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    account_id: int
    client_order_key: str
    ticket: OrderTicket


@dataclass(frozen=True, slots=True)
class CancelRequest:
    account_id: int
    order_id: int


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    account_id: int
    order_id: int
    price: int | None  # the new limit price; None keeps it
    quantity: int | None  # the new open quantity; None keeps it


Request = PlaceRequest | CancelRequest | ModifyRequest


@dataclass(frozen=True, slots=True)
class Admission:
    """A request the desk accepted: its order, and the command for the venue (None when the
    request was a retry of an order already placed)."""

    order_id: int
    command: Command | None


class OrderDesk:
    def __init__(
        self,
        *,
        clock: Clock,
        ids: IdGenerator,
        ledger: Ledger,
        venue: Venue,
        calendar: TradingCalendar,
        tax_ppm: int,
    ) -> None:
        self._clock = clock
        self._ids = ids
        self.ledger = ledger
        self.venue = venue
        self._calendar = calendar
        self._tax_ppm = tax_ppm

    # --- admission ------------------------------------------------------------------------------

    def admit(self, session: Session, request: Request) -> Admission:
        if isinstance(request, PlaceRequest):
            return self._admit_place(session, request)
        if isinstance(request, CancelRequest):
            order = self._open_order(session, request.account_id, request.order_id)
            return Admission(order.id, CancelOrder(order.instrument, order.id, self.venue.timestamp_ns()))
        return self._admit_modify(session, request)

    def _admit_place(self, session: Session, request: PlaceRequest) -> Admission:
        key = request.client_order_key
        if not 1 <= len(key) <= CLIENT_ORDER_KEY_LENGTH_MAX or not key.isascii() or not key.isprintable():
            raise InvalidInput(
                f"an order key is 1 to {CLIENT_ORDER_KEY_LENGTH_MAX} printable ASCII characters"
            )
        account = self._active_account(session, request.account_id)
        existing = repository.order_by_client_key(session, account.id, key)
        if existing is not None:
            if existing.ticket() != request.ticket:
                raise ClientOrderKeyReused(f"the order key {key!r} was used for a different order")
            return Admission(existing.id, None)
        ticket = request.ticket
        market = self.venue.market(ticket.instrument)
        check_ticket(ticket, market)
        if repository.open_order_count(session, account.id) >= ORDERS_OPEN_PER_ACCOUNT_MAX:
            raise TooManyOpenOrders(f"an account has at most {ORDERS_OPEN_PER_ACCOUNT_MAX:,} open orders")
        order_id = self._ids.next()
        self._reserve(session, account, order_id, ticket, reference_price(ticket, market))
        now = self._clock.now()
        repository.insert_orders(
            session,
            [
                OrderRecord(
                    id=order_id,
                    account_id=account.id,
                    client_order_key=key,
                    instrument=ticket.instrument,
                    side=ticket.side,
                    order_type=ticket.order_type,
                    time_in_force=ticket.time_in_force,
                    price=ticket.price,
                    quantity=ticket.quantity,
                    open_quantity=ticket.quantity,
                    filled_quantity=0,
                    cancelled_quantity=0,
                    filled_value_won=0,
                    status=OrderStatus.NEW,
                    reject_code=None,
                    reject_message=None,
                    trade_date=self.venue.trading_day(),
                    last_sequence=0,
                    created_at=now,
                    updated_at=now,
                )
            ],
        )
        command = PlaceOrder(
            ticket.instrument,
            order_id,
            ticket.side,
            ticket.order_type,
            ticket.time_in_force,
            ticket.price or 0,
            ticket.quantity,
            self.venue.timestamp_ns(),
        )
        return Admission(order_id, command)

    def _reserve(
        self, session: Session, account: Account, order_id: int, ticket: OrderTicket, price: int
    ) -> None:
        """Hold the order's worst case: cash for a buy, shares for a sale."""
        if ticket.side is Side.BUY:
            needed = buy_hold_won(price, ticket.quantity, self._fees(account))
            check_buying_power(needed, self.ledger.balance(session, account.owner, CASH).available)
            asset, amount = CASH, needed
        else:
            check_shares(
                ticket.quantity, self.ledger.balance(session, account.owner, ticket.instrument).available
            )
            asset, amount = ticket.instrument, ticket.quantity * MICRO_PER_SHARE
        self.ledger.hold(
            session,
            idempotency_key=f"order:{order_id}:hold",
            owner=account.owner,
            asset=asset,
            amount=amount,
            reference=order_reference(order_id),
        )

    def _admit_modify(self, session: Session, request: ModifyRequest) -> Admission:
        order = self._open_order(session, request.account_id, request.order_id)
        if order.order_type is OrderType.MARKET:
            raise NothingToModify("a market order cannot be modified")
        price = order.price if request.price is None else request.price
        quantity = order.open_quantity if request.quantity is None else request.quantity
        market = self.venue.market(order.instrument)
        price = check_limit_price(price, market)
        if quantity <= 0:
            raise NothingToModify("the new quantity must be at least 1 share; cancel the order instead")
        if (price, quantity) == (order.price, order.open_quantity):
            raise NothingToModify("the new price and quantity are the order's own")
        account = self._active_account(session, request.account_id)
        holds = self.ledger.holds_for(session, order_reference(order.id))
        held = sum(hold.remaining for hold in holds)
        if order.side is Side.BUY:
            needed = buy_hold_won(price, quantity, self._fees(account)) - held
            if needed > 0:
                check_buying_power(needed, self.ledger.balance(session, account.owner, CASH).available)
                self.ledger.hold(
                    session,
                    idempotency_key=f"order:{order.id}:top-up:{self._ids.next()}",
                    owner=account.owner,
                    asset=CASH,
                    amount=needed,
                    reference=order_reference(order.id),
                )
        else:
            needed_micro = quantity * MICRO_PER_SHARE - held
            if needed_micro > 0:
                check_shares(
                    needed_micro // MICRO_PER_SHARE,
                    self.ledger.balance(session, account.owner, order.instrument).available,
                )
                self.ledger.hold(
                    session,
                    idempotency_key=f"order:{order.id}:top-up:{self._ids.next()}",
                    owner=account.owner,
                    asset=order.instrument,
                    amount=needed_micro,
                    reference=order_reference(order.id),
                )
        command = ModifyOrder(order.instrument, order.id, price, quantity, self.venue.timestamp_ns())
        return Admission(order.id, command)

    def _open_order(self, session: Session, account_id: int, order_id: int) -> OrderRecord:
        order = repository.orders_by_ids(session, [order_id]).get(order_id)
        if order is None or order.account_id != account_id:
            raise UnknownOrder(f"no order {order_id} on this account")
        if order.is_finished:
            raise OrderNotOpen(f"order {order_id} is already {order.status.value}")
        return order

    def _active_account(self, session: Session, account_id: int) -> Account:
        account = brokerage_repository.account_by_id(session, account_id)
        if account is None:
            raise UnknownAccount(f"no account {account_id}")
        if not account.is_active:
            raise AccountClosed(f"account {account.display_number} is closed")
        return account

    def _fees(self, account: Account) -> FeeSchedule:
        return FeeSchedule(commission_ppm=account.firm.commission_ppm, tax_ppm=self._tax_ppm)

    # --- booking --------------------------------------------------------------------------------

    def book(self, session: Session, results: Sequence[CommandResult], *, venue_name: str) -> BookingReport:
        """Book the results not booked yet, in order, and move the cursor past them."""
        report = BookingReport()
        booked = repository.booked_sequence(session, venue_name)
        fresh = [result for result in results if result.sequence > booked]
        if not fresh:
            report.last_sequence = booked
            return report
        booker = Booker(
            session=session,
            ledger=self.ledger,
            ids=self._ids,
            clock=self._clock,
            calendar=self._calendar,
            fees=self._fees,
            orders=repository.orders_by_ids(session, orders_named(fresh)),
        )
        for result in fresh:
            booker.apply(result, report)
        repository.update_orders(session, booker.changed())
        report.orders = {order.id: order for order in booker.changed()}
        report.last_sequence = fresh[-1].sequence
        repository.save_booked_sequence(session, venue_name, report.last_sequence, self._clock.now())
        return report
