"""Comparing the brokerage's tables with the venue's view, a page of orders at a time; what is
compared is listed in the package's docstring. While comparing, each order that the journal can
repair is noted (`Repairs`) for `repair.reconcile_orders`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account
from backbone.brokerage.fees import FeeSchedule
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import order_reference
from backbone.brokerage.trading.domain import ExecutionRecord, OrderRecord, OrderStatus, buy_hold_won
from backbone.brokerage.trading.pipeline import NotDelivered
from backbone.brokerage.trading.reconciliation.report import Difference, OrdersCheckReport
from backbone.brokerage.trading.reconciliation.venue_view import (
    BookedState,
    Progress,
    VenueOrder,
    VenueView,
    read_venue,
    state_of,
)
from backbone.brokerage.trading.venue import VENUE_NAME
from backbone.exchange.orders import OrderType, Side
from backbone.kit.money import MICRO_PER_SHARE
from backbone.ledger.domain import CASH
from backbone.ledger.service import Ledger

ORDERS_PER_PAGE = 5_000  # brokerage orders read and compared at a time
TRADES_SHOWN_MAX = 5
ORDER_REFERENCE_PREFIX = order_reference(0).removesuffix("0")  # "order:", whatever booking makes it
OPEN = frozenset({OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


@dataclass
class Repairs:
    """What reconciliation can book, found while checking."""

    catch_up: dict[int, OrderRecord] = field(default_factory=dict)  # behind the journal, rows intact
    revive: dict[int, OrderRecord] = field(default_factory=dict)  # not delivered, yet the venue has it
    blocked_from: int | None = None  # the first result an order that cannot be repaired lacks

    def block(self, sequence: int) -> None:
        self.blocked_from = sequence if self.blocked_from is None else min(self.blocked_from, sequence)

    def cursor_target(self, cursor: int, journal_sequence: int) -> int:
        """The journal's end, unless an order's results would be left unbooked behind the cursor."""
        if self.blocked_from is None:
            return journal_sequence
        return max(cursor, self.blocked_from - 1)


class Inspection:
    """One comparison of the brokerage's tables with a venue view, a page of orders at a time."""

    def __init__(self, session: Session, view: VenueView, venue_name: str) -> None:
        self.session = session
        self.view = view
        self.report = OrdersCheckReport(
            journal_sequence=view.last_sequence,
            booked_sequence=repository.booked_sequence(session, venue_name),
            venue_orders=len(view.orders),
            resting_checked=len(view.resting),
        )
        self.repairs = Repairs()
        self.holds = Ledger.remaining_holds(session, reference_prefix=ORDER_REFERENCE_PREFIX)
        self.seen: set[int] = set()  # brokerage orders the venue has

    def run(self) -> Inspection:
        after = 0
        while page := repository.orders_after(self.session, after, ORDERS_PER_PAGE):
            self._page(page)
            after = page[-1].id
        self._finish()
        return self

    def _add(self, code: str, order_id: int | None, sequence: int | None, expected: str, found: str) -> None:
        self.report.add(Difference(code, order_id, sequence, expected, found))

    def _page(self, orders: list[OrderRecord]) -> None:
        executions = repository.executions_of_orders(self.session, [order.id for order in orders])
        accounts = brokerage_repository.accounts_by_ids(
            self.session, {order.account_id for order in orders if order.status in OPEN}
        )
        for order in orders:
            self.report.orders_checked += 1
            venue = self.view.orders.get(order.id)
            if venue is None:
                self._not_at_venue(order)
            else:
                self.seen.add(order.id)
                self._compare(order, venue, executions[order.id])
                self._classify(order, venue, executions[order.id])
            self._check_holds(order, venue, accounts.get(order.account_id))
            self._check_book(order, venue)

    def _not_at_venue(self, order: OrderRecord) -> None:
        if order.status is OrderStatus.NEW:
            self.report.orders_undelivered.append(order.id)
        elif not rejected_as_undelivered(order):
            self._add("order.unknown_to_venue", order.id, None, "no such order", order.status.value)

    def _compare(self, order: OrderRecord, venue: VenueOrder, executions: list[ExecutionRecord]) -> None:
        expected, found, sequence = venue.state, state_of(order), venue.last_sequence
        if expected.status is not found.status:
            self._add("order.status_differs", order.id, sequence, expected.status.value, found.status.value)
        if (expected.filled_quantity, expected.filled_value_won) != (
            found.filled_quantity,
            found.filled_value_won,
        ):
            self._add("order.filled_differs", order.id, sequence, _filled(expected), _filled(found))
        if expected.open_quantity != found.open_quantity:
            self._add(
                "order.open_quantity_differs",
                order.id,
                sequence,
                f"{expected.open_quantity:,} open",
                f"{found.open_quantity:,} open",
            )
        trades, booked = venue.trades_up_to(sequence), _booked_trades(executions)
        if trades != booked:
            differing = sorted(
                trade for trade in trades.keys() | booked.keys() if trades.get(trade) != booked.get(trade)
            )
            self._add(
                "order.fills_differ",
                order.id,
                sequence,
                _trades(trades, differing),
                _trades(booked, differing),
            )

    def _classify(self, order: OrderRecord, venue: VenueOrder, executions: list[ExecutionRecord]) -> None:
        """Whether the order can be booked from the journal: revived, caught up, or neither."""
        if rejected_as_undelivered(order):
            if venue.state.status is not OrderStatus.REJECTED and not executions:
                self.repairs.revive[order.id] = order
            return
        unbooked = venue.first_change_after(order.last_sequence)
        if unbooked is None:
            return
        intact = venue.state_at(order.last_sequence) == state_of(order) and venue.trades_up_to(
            order.last_sequence
        ) == _booked_trades(executions)
        if intact:
            self.repairs.catch_up[order.id] = order
        else:
            self.repairs.block(unbooked)

    def _check_holds(self, order: OrderRecord, venue: VenueOrder | None, account: Account | None) -> None:
        holds = self.holds.pop(order_reference(order.id), [])
        self.report.holds_checked += len(holds)
        held = sum(hold.remaining for hold in holds)
        asset = asset_of(order)
        if order.status not in OPEN:
            if held:
                self._add(
                    "hold.without_open_order",
                    order.id,
                    None,
                    "nothing held",
                    f"{amount_text(asset, held)} held",
                )
            return
        expected = None if account is None else _expected_hold(order, venue, account)
        if expected is not None and expected != held:
            self._add(
                "hold.does_not_match_order",
                order.id,
                None,
                amount_text(asset, expected),
                amount_text(asset, held),
            )

    def _check_book(self, order: OrderRecord, venue: VenueOrder | None) -> None:
        resting = self.view.resting.get(order.id)
        mine = (order.side, order.price or 0, order.open_quantity)
        is_open = venue is not None and order.status in OPEN  # an undelivered order rests nowhere
        if resting is None:
            if is_open:
                self._add("book.open_not_resting", order.id, None, "not resting", _resting(mine))
        elif not is_open:
            self._add("book.resting_not_open", order.id, None, _resting(resting), order.status.value)
        elif resting != mine:
            self._add("book.resting_differs", order.id, None, _resting(resting), _resting(mine))

    def _finish(self) -> None:
        for reference, holds in self.holds.items():  # holds of orders the brokerage has no row for
            self.report.holds_checked += len(holds)
            held = sum(hold.remaining for hold in holds)
            self._add(
                "hold.without_open_order",
                _order_of(reference),
                None,
                "no such order",
                amount_text(holds[0].asset, held),
            )
        for order_id in sorted(self.view.orders.keys() - self.seen):
            venue = self.view.orders[order_id]
            self._add(
                "order.unknown_to_brokerage",
                order_id,
                venue.last_sequence,
                venue.state.status.value,
                "no such order",
            )
            if order_id in self.view.resting:
                self._add(
                    "book.resting_not_open",
                    order_id,
                    None,
                    _resting(self.view.resting[order_id]),
                    "no such order",
                )
        self._check_cursor()

    def _check_cursor(self) -> None:
        booked, last = self.report.booked_sequence, self.report.journal_sequence
        if booked != last:
            code = "cursor.behind_journal" if booked < last else "cursor.ahead_of_journal"
            self._add(code, None, booked, f"the journal ends at {last:,}", f"booked to {booked:,}")


def check_orders(
    session: Session,
    *,
    journal_directory: Path,
    base_prices: Mapping[str, int],
    venue_name: str = VENUE_NAME,
    progress: Progress | None = None,
) -> OrdersCheckReport:
    """Compare the brokerage's orders, executions, holds and cursor with the venue's journal."""
    view = read_venue(journal_directory, base_prices, progress)
    return Inspection(session, view, venue_name).run().report


def rejected_as_undelivered(order: OrderRecord) -> bool:
    return order.status is OrderStatus.REJECTED and order.reject_code == NotDelivered.code


def _booked_trades(executions: Iterable[ExecutionRecord]) -> dict[int, tuple[int, int]]:
    return {execution.trade_id: (execution.quantity, execution.price) for execution in executions}


def buy_fees(account: Account) -> FeeSchedule:
    # What a buy holds and draws is its value plus commission; the sales tax never enters it.
    return FeeSchedule(commission_ppm=account.firm.commission_ppm, tax_ppm=0)


def _expected_hold(order: OrderRecord, venue: VenueOrder | None, account: Account) -> int | None:
    """What an open order should still hold: by the venue's view when the venue has the order, by
    its ticket (what admission took) when undelivered; None for a market buy (its worst price was
    its day's upper limit, which nothing kept)."""
    if venue is not None and venue.state.status not in OPEN:
        return 0
    price, quantity = (
        (order.price, order.quantity) if venue is None else (venue.price, venue.state.open_quantity)
    )
    if order.side is Side.SELL:
        return quantity * MICRO_PER_SHARE
    if order.order_type is OrderType.MARKET or price is None:
        return None
    return buy_hold_won(price, quantity, buy_fees(account))


def asset_of(order: OrderRecord) -> str:
    return CASH if order.side is Side.BUY else order.instrument


def amount_text(asset: str, amount: int) -> str:
    if asset == CASH:
        return f"{amount:,} won"
    shares, micro = divmod(amount, MICRO_PER_SHARE)
    return f"{shares:,} shares of {asset}" if not micro else f"{amount:,} micro-shares of {asset}"


def _filled(state: BookedState) -> str:
    return f"{state.filled_quantity:,} filled for {state.filled_value_won:,} won"


def _trades(trades: dict[int, tuple[int, int]], wanted: list[int]) -> str:
    shown = [
        f"trade {trade}: {trades[trade][0]:,} @ {trades[trade][1]:,}" for trade in wanted if trade in trades
    ]
    if not shown:
        return "none of them"
    more = len(shown) - TRADES_SHOWN_MAX
    return "; ".join(shown[:TRADES_SHOWN_MAX]) + (f"; {more} more" if more > 0 else "")


def _resting(resting: tuple[Side, int, int]) -> str:
    side, price, quantity = resting
    return f"{side.value} {quantity:,} @ {price:,}"


def _order_of(reference: str) -> int | None:
    digits = reference.removeprefix(ORDER_REFERENCE_PREFIX)
    return int(digits) if digits.isdigit() else None
