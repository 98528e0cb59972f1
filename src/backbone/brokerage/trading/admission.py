"""Admitting a batch of order requests with a handful of statements, however many requests.

One `Admitter` admits one batch inside the caller's transaction:
1. read everything the batch needs at once: its accounts (and firms), the orders it cancels or
   modifies, the order keys already used, the open-order counts, the ledger accounts to reserve
   from and their balances, the holds of the orders it modifies;
2. check each request in order against a running picture of those balances (a second buy in the
   batch sees what the first one reserved); a refusal is that request's outcome alone;
3. reserve with one `hold_many` and write the new orders with one insert.

The venue commands are returned for the pipeline to submit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account
from backbone.brokerage.errors import AccountClosed, UnknownAccount
from backbone.brokerage.fees import FeeSchedule
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import order_reference
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
from backbone.brokerage.trading.requests import Admission, CancelRequest, ModifyRequest, PlaceRequest, Request
from backbone.brokerage.trading.venue import Venue
from backbone.errors import BackboneError, InvalidInput
from backbone.exchange.messages import CancelOrder, ModifyOrder, PlaceOrder
from backbone.exchange.orders import OrderType, Side
from backbone.kit.check import invariant
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.money import MICRO_PER_SHARE
from backbone.ledger.domain import CASH, HoldState, Purpose
from backbone.ledger.errors import LedgerError
from backbone.ledger.service import AccountKey, HoldRequest, Ledger


@dataclass
class _Staged:
    """What the batch will write once every request is checked."""

    holds: list[tuple[int, HoldRequest]] = field(default_factory=list)  # (request index, hold)
    orders: dict[int, OrderRecord] = field(default_factory=dict)  # by request index


class Admitter:
    def __init__(
        self,
        *,
        session: Session,
        ledger: Ledger,
        venue: Venue,
        ids: IdGenerator,
        clock: Clock,
        fees: Callable[[Account], FeeSchedule],
    ) -> None:
        self.session = session
        self.ledger = ledger
        self.venue = venue
        self.ids = ids
        self.clock = clock
        self.fees = fees

    def admit(self, requests: Sequence[Request]) -> list[Admission | BackboneError]:
        session = self.session
        accounts = brokerage_repository.accounts_by_ids(session, {request.account_id for request in requests})
        holders = (
            brokerage_repository.holders_of(session, accounts)
            if any(request.person is not None for request in requests)
            else {}
        )
        targets = repository.orders_by_ids(
            session,
            {request.order_id for request in requests if isinstance(request, CancelRequest | ModifyRequest)},
        )
        keys = repository.orders_by_client_keys(
            session,
            {
                (request.account_id, request.client_order_key)
                for request in requests
                if isinstance(request, PlaceRequest)
            },
        )
        open_counts = repository.open_order_counts(session, accounts)
        balances = self._available(requests, accounts, targets)
        modified_holds = self.ledger.holds_of(
            session,
            [order_reference(request.order_id) for request in requests if isinstance(request, ModifyRequest)],
        )
        staged = _Staged()
        outcomes: list[Admission | BackboneError | None] = [None] * len(requests)
        placed_keys: dict[tuple[int, str], tuple[int, OrderTicket]] = {}
        for index, request in enumerate(requests):
            try:
                if request.person is not None and holders.get(request.account_id) != request.person:
                    # Another person's account is, to this investor, as unknown as none at all.
                    raise UnknownAccount(f"you have no account {request.account_id}")
                if isinstance(request, PlaceRequest):
                    outcomes[index] = self._place(
                        index, request, accounts, keys, placed_keys, open_counts, balances, staged
                    )
                elif isinstance(request, CancelRequest):
                    order = _open_order(targets, request.account_id, request.order_id)
                    outcomes[index] = Admission(
                        order.id, CancelOrder(order.instrument, order.id, self.venue.timestamp_ns())
                    )
                else:
                    outcomes[index] = self._modify(
                        index, request, accounts, targets, modified_holds, balances, staged
                    )
            except BackboneError as error:
                outcomes[index] = error
        self._write(staged, outcomes)
        answered: list[Admission | BackboneError] = []
        for outcome in outcomes:
            invariant(outcome is not None, "every request in a batch is answered")
            answered.append(cast(Admission | BackboneError, outcome))
        return answered

    # --- reading ahead --------------------------------------------------------------------------

    def _available(
        self, requests: Sequence[Request], accounts: dict[int, Account], targets: dict[int, OrderRecord]
    ) -> dict[AccountKey, int]:
        """The available balance of every ledger account the batch may reserve from."""
        wanted: dict[AccountKey, int | None] = {}
        for request in requests:
            account = accounts.get(request.account_id)
            if account is None:
                continue
            if isinstance(request, PlaceRequest):
                ticket = request.ticket
                asset = CASH if ticket.side is Side.BUY else ticket.instrument
            elif isinstance(request, ModifyRequest) and request.order_id in targets:
                order = targets[request.order_id]
                asset = CASH if order.side is Side.BUY else order.instrument
            else:
                continue
            wanted[(account.owner, asset, Purpose.AVAILABLE)] = 0
        if not wanted:
            return {}
        try:
            states = self.ledger.ensure_accounts(self.session, wanted)
        except LedgerError:
            # An unknown instrument: each request meets it again in its own check and is refused
            # there; the rest of the batch reserves from balances read one owner at a time.
            return self._available_one_by_one(wanted)
        return {key: state.balance for key, state in states.items()}

    def _available_one_by_one(self, wanted: dict[AccountKey, int | None]) -> dict[AccountKey, int]:
        found: dict[AccountKey, int] = {}
        for owner, asset, purpose in wanted:
            try:
                found[(owner, asset, purpose)] = self.ledger.balance(self.session, owner, asset).available
            except LedgerError:
                continue
        return found

    # --- one request ----------------------------------------------------------------------------

    def _place(
        self,
        index: int,
        request: PlaceRequest,
        accounts: dict[int, Account],
        keys: dict[tuple[int, str], OrderRecord],
        placed_keys: dict[tuple[int, str], tuple[int, OrderTicket]],
        open_counts: dict[int, int],
        balances: dict[AccountKey, int],
        staged: _Staged,
    ) -> Admission:
        account_id, key, ticket = request.account_id, request.client_order_key, request.ticket
        if not 1 <= len(key) <= CLIENT_ORDER_KEY_LENGTH_MAX or not key.isascii() or not key.isprintable():
            raise InvalidInput(
                f"an order key is 1 to {CLIENT_ORDER_KEY_LENGTH_MAX} printable ASCII characters"
            )
        account = _active(accounts, account_id)
        existing = keys.get((account_id, key))
        if existing is not None:
            if existing.ticket() != ticket:
                raise ClientOrderKeyReused(f"the order key {key!r} was used for a different order")
            return Admission(existing.id, None)
        earlier = placed_keys.get((account_id, key))
        if earlier is not None:  # the same key twice in one batch: the second is a retry
            order_id, earlier_ticket = earlier
            if earlier_ticket != ticket:
                raise ClientOrderKeyReused(f"the order key {key!r} was used for a different order")
            return Admission(order_id, None)
        market = self.venue.market(ticket.instrument)
        check_ticket(ticket, market)
        if open_counts.get(account_id, 0) >= ORDERS_OPEN_PER_ACCOUNT_MAX:
            raise TooManyOpenOrders(f"an account has at most {ORDERS_OPEN_PER_ACCOUNT_MAX:,} open orders")
        order_id = self.ids.next()
        worst_price = reference_price(ticket, market)
        asset, amount = self._reservation(
            account, ticket.side, ticket.instrument, worst_price, ticket.quantity, balances
        )
        staged.holds.append(
            (
                index,
                HoldRequest(
                    f"order:{order_id}:hold", account.owner, asset, amount, order_reference(order_id)
                ),
            )
        )
        now = self.clock.now()
        staged.orders[index] = OrderRecord(
            id=order_id,
            account_id=account_id,
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
        open_counts[account_id] = open_counts.get(account_id, 0) + 1
        placed_keys[(account_id, key)] = (order_id, ticket)
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

    def _reservation(
        self,
        account: Account,
        side: Side,
        instrument: str,
        price: int,
        quantity: int,
        balances: dict[AccountKey, int],
    ) -> tuple[str, int]:
        """What an order holds (its worst case), checked against the batch's running balances."""
        if side is Side.BUY:
            asset, amount = CASH, buy_hold_won(price, quantity, self.fees(account))
            available = balances.get((account.owner, CASH, Purpose.AVAILABLE), 0)
            check_buying_power(amount, available)
        else:
            asset, amount = instrument, quantity * MICRO_PER_SHARE
            available = balances.get((account.owner, instrument, Purpose.AVAILABLE), 0)
            check_shares(quantity, available)
        balances[(account.owner, asset, Purpose.AVAILABLE)] = available - amount
        return asset, amount

    def _modify(
        self,
        index: int,
        request: ModifyRequest,
        accounts: dict[int, Account],
        targets: dict[int, OrderRecord],
        holds: dict[str, list[HoldState]],
        balances: dict[AccountKey, int],
        staged: _Staged,
    ) -> Admission:
        account_id = request.account_id
        order = _open_order(targets, account_id, request.order_id)
        if order.order_type is OrderType.MARKET:
            raise NothingToModify("a market order cannot be modified")
        price = order.price if request.price is None else request.price
        quantity = order.open_quantity if request.quantity is None else request.quantity
        price = check_limit_price(price, self.venue.market(order.instrument))
        if quantity <= 0:
            raise NothingToModify("the new quantity must be at least 1 share; cancel the order instead")
        if (price, quantity) == (order.price, order.open_quantity):
            raise NothingToModify("the new price and quantity are the order's own")
        account = _active(accounts, account_id)
        held = sum(hold.remaining for hold in holds.get(order_reference(order.id), []))
        if order.side is Side.BUY:
            needed = buy_hold_won(price, quantity, self.fees(account)) - held
            asset = CASH
        else:
            needed = quantity * MICRO_PER_SHARE - held
            asset = order.instrument
        if needed > 0:
            available = balances.get((account.owner, asset, Purpose.AVAILABLE), 0)
            if order.side is Side.BUY:
                check_buying_power(needed, available)
            else:
                check_shares(-(-needed // MICRO_PER_SHARE), available)
            balances[(account.owner, asset, Purpose.AVAILABLE)] = available - needed
            staged.holds.append(
                (
                    index,
                    HoldRequest(
                        f"order:{order.id}:top-up:{self.ids.next()}",
                        account.owner,
                        asset,
                        needed,
                        order_reference(order.id),
                    ),
                )
            )
        return Admission(
            order.id, ModifyOrder(order.instrument, order.id, price, quantity, self.venue.timestamp_ns())
        )

    # --- writing --------------------------------------------------------------------------------

    def _write(self, staged: _Staged, outcomes: list[Admission | BackboneError | None]) -> None:
        if staged.holds:
            held = self.ledger.hold_many(self.session, [hold for _, hold in staged.holds])
            for (index, _), outcome in zip(staged.holds, held, strict=True):
                if isinstance(outcome, LedgerError):
                    # The running picture said it fitted; the ledger disagrees: refuse this one.
                    outcomes[index] = outcome
                    staged.orders.pop(index, None)
        repository.insert_orders(self.session, list(staged.orders.values()))


def _active(accounts: dict[int, Account], account_id: int) -> Account:
    account = accounts.get(account_id)
    if account is None:
        raise UnknownAccount(f"no account {account_id}")
    if not account.is_active:
        raise AccountClosed(f"account {account.display_number} is closed")
    return account


def _open_order(targets: dict[int, OrderRecord], account_id: int, order_id: int) -> OrderRecord:
    order = targets.get(order_id)
    if order is None or order.account_id != account_id:
        raise UnknownOrder(f"no order {order_id} on this account")
    if order.is_finished:
        raise OrderNotOpen(f"order {order_id} is already {order.status.value}")
    return order
