"""Reconciling the brokerage with the venue. The venue's journal is the truth about every order the
venue received; the brokerage's orders, executions, ledger holds and booked cursor must agree.

`check_orders` replays the journal read-only on a fresh engine (no lock: beside a running pipeline a
batch in flight shows for a moment as the cursor behind the journal) and compares, for the
brokerage's id space only (ids up to `kit.ids.ID_MAX`; the liquidity simulator numbers above it):

- every order the venue received, with the venue's events put through the brokerage's own
  transition table (accepted or resting -> `accepted`, partly filled -> `partially_filled`,
  `filled`, cancelled by request or as an IOC/market remainder -> `cancelled`, `expired`, refused
  -> `rejected`): status, filled quantity and value, open quantity, and each execution booked
  against the venue's `TradeExecuted` (quantity and price per trade id);
- every brokerage order the venue never received: only `new` (admitted, not acknowledged yet) and
  `rejected` with `order.not_delivered` may be missing. A `new` order the journal lacks is
  *undelivered*, not a difference: the brokerage and the venue agree that the venue does not have
  it, and the next start's recovery rejects it and gives its hold back (or, beside a running
  pipeline, it is in flight). The report counts them; their holds must still be what admission took;
- every ledger hold with something left (`order:<id>` references) belongs to an open order and
  equals what the order still needs: a sale its open shares, a limit buy `buy_hold_won` of its
  open quantity at its price; a finished order holds nothing. (An open market buy holds the upper
  limit of its day, which the journal does not keep: its amount is not checked);
- the books: the replayed engine's resting orders equal the brokerage's open orders (id, side,
  price, open quantity);
- the booked cursor equals the journal's last sequence.

`reconcile_orders` repairs by replaying the journal, one transaction per chunk of orders:

- an order the journal has results for after the order's own last booked sequence, whose row
  equals the venue's state at that sequence, is booked those results for itself alone (a `Booker`
  given only these orders skips every other; a fill already booked is skipped by its trade id and
  side). That covers a cursor behind the journal (a crash between the venue and the booking), a
  cursor moved past a batch it never booked (orders still `new`, or `accepted` with fewer fills
  than the venue), and a cursor moved back by hand (each order's own sequence says what it has
  seen, so nothing is booked twice). Then the cursor moves to the journal's end, never past
  results left unbooked (STYLE rule 14), and back from beyond the end when nothing blocks it;
- an order rejected with `order.not_delivered` although the venue has it is revived. The
  rejection was the brokerage's mistaken conclusion, not the venue's answer, and the venue's
  trades stand whatever the brokerage believed. It is held again for exactly what the venue's
  trades will draw plus what it still needs open, reset to `new`, and booked like the rest. When
  the account cannot cover that hold any more, it is reported with what the operator must do;
- anything else (rows or executions changed outside the order chain, holds edited, an order one
  side has never heard of, a journal shorter than the cursor with orders missing from it) is not
  repaired: booked history is never rewritten from a guess. Each such difference is reported with
  the operator's action (`ACTIONS`).

A repair must hold the venue's journal (the desk's venue does: `exchange.journal_lock`), so no
pipeline books beside it. Running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account
from backbone.brokerage.fees import FeeSchedule
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import order_reference, orders_named
from backbone.brokerage.trading.desk import OrderDesk
from backbone.brokerage.trading.domain import (
    ExecutionRecord,
    OrderChange,
    OrderRecord,
    OrderStatus,
    buy_hold_won,
    next_status,
)
from backbone.brokerage.trading.pipeline import NotDelivered
from backbone.brokerage.trading.venue import VENUE_NAME
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
from backbone.kit.check import invariant
from backbone.kit.db import Database
from backbone.kit.ids import ID_MAX
from backbone.kit.money import MICRO_PER_SHARE
from backbone.ledger.domain import CASH
from backbone.ledger.errors import LedgerError
from backbone.ledger.service import HoldRequest, Ledger

DIFFERENCES_KEPT_MAX = 1_000
ORDERS_PER_PAGE = 5_000  # brokerage orders read and compared at a time
REPAIR_ORDERS_PER_CHUNK = 500  # orders repaired in one transaction
PROGRESS_RESULTS_INTERVAL = 1_000
TRADES_SHOWN_MAX = 5
ORDER_REFERENCE_PREFIX = order_reference(0).removesuffix("0")

Progress = Callable[[int, int], None]  # (sequence replayed, the journal's last sequence)

CODES: dict[str, str] = {
    "order.status_differs": "the order's status differs",
    "order.filled_differs": "the filled quantity or value differs",
    "order.open_quantity_differs": "the open quantity differs",
    "order.fills_differ": "the executions booked differ from the venue's trades",
    "order.unknown_to_brokerage": "the venue has an order in the brokerage's id space with no row",
    "order.unknown_to_venue": "the brokerage has an order the venue never received",
    "hold.without_open_order": "a hold has something left for an order that is not open",
    "hold.does_not_match_order": "an open order's holds differ from what it still needs",
    "book.resting_not_open": "the venue's book rests an order the brokerage does not have open",
    "book.open_not_resting": "the brokerage has an order open that the venue's book does not rest",
    "book.resting_differs": "a resting order's side, price or open quantity differs",
    "cursor.behind_journal": "the booked cursor is behind the venue's journal",
    "cursor.ahead_of_journal": "the booked cursor is ahead of the venue's journal",
}
_ROW_CHANGED = (
    "the order's row no longer follows from its booked results (changed outside the order chain?): "
    "correct it to the venue's view from a backup; reconcile never rewrites booked history"
)
_FOLLOWS = "follows from the order's other differences: repair those"
ACTIONS: dict[str, str] = {
    "order.status_differs": _ROW_CHANGED,
    "order.filled_differs": _ROW_CHANGED,
    "order.open_quantity_differs": _ROW_CHANGED,
    "order.fills_differ": "executions were changed outside the order chain: restore them from a backup",
    "order.unknown_to_brokerage": (
        "the orders table lacks a row the venue has (restored from an older backup?): restore it; "
        "the journal does not say whose order it was"
    ),
    "order.unknown_to_venue": (
        "the journal lacks an order the brokerage booked (replaced or cut?): restore the venue's "
        "journal before the server starts on it"
    ),
    "hold.without_open_order": "release the hold in the ledger once you know who changed it",
    "hold.does_not_match_order": (
        "restore the hold from a backup or correct it to what its order needs; "
        "`backbone ledger check` says whether the ledger itself still adds up"
    ),
    "book.resting_not_open": _FOLLOWS,
    "book.open_not_resting": _FOLLOWS,
    "book.resting_differs": _FOLLOWS,
    "cursor.behind_journal": "an order's results after the cursor cannot be booked: see its differences",
    "cursor.ahead_of_journal": (
        "the journal lacks results the brokerage booked: restore the journal from a backup, and "
        "do not start the server on this one"
    ),
}
_OPEN = frozenset({OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    code: str  # stable: a key of CODES
    order_id: int | None
    sequence: int | None  # the venue's last change of the order, or the booked cursor
    expected: str  # the venue's view
    found: str  # the brokerage's view

    @property
    def message(self) -> str:
        subject = "the cursor" if self.order_id is None else f"order {self.order_id}"
        return f"{subject}: {CODES[self.code]}: the venue says {self.expected}, the brokerage {self.found}"


@dataclass
class OrdersCheckReport:
    differences: list[Difference] = field(default_factory=list)  # the first DIFFERENCES_KEPT_MAX
    difference_count: int = 0
    orders_checked: int = 0  # the brokerage's
    venue_orders: int = 0  # the venue's, in the brokerage's id space
    holds_checked: int = 0
    resting_checked: int = 0
    orders_undelivered: list[int] = field(default_factory=list)  # `new`, not in the journal
    journal_sequence: int = 0
    booked_sequence: int = 0

    def add(self, difference: Difference) -> None:
        self.difference_count += 1
        if len(self.differences) < DIFFERENCES_KEPT_MAX:
            self.differences.append(difference)

    @property
    def ok(self) -> bool:
        return self.difference_count == 0

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for difference in self.differences:
            found[difference.code] = found.get(difference.code, 0) + 1
        return found


@dataclass(frozen=True)
class Irreparable:
    difference: Difference
    action: str  # what the operator must do


@dataclass
class ReconcileReport:
    before: OrdersCheckReport
    dry_run: bool
    cursor_before: int
    cursor_after: int = 0
    caught_up: list[int] = field(default_factory=list)  # orders booked from the journal
    revived: list[int] = field(default_factory=list)  # rejected as not delivered, held and booked
    results_booked: int = 0  # (result, order group) pairs booked
    irreparable: list[Irreparable] = field(default_factory=list)
    after: OrdersCheckReport | None = None  # None on a dry run
    notes: dict[int, str] = field(default_factory=dict)  # order id: an action more precise than ACTIONS

    @property
    def ok(self) -> bool:
        return not self.irreparable


# --- the venue's view ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _State:
    """What booking decides about an order, and so what both sides must agree on."""

    status: OrderStatus
    filled_quantity: int
    filled_value_won: int
    open_quantity: int


def _state_of(order: OrderRecord) -> _State:
    return _State(order.status, order.filled_quantity, order.filled_value_won, order.open_quantity)


@dataclass
class VenueOrder:
    """One of the brokerage's orders as the venue's journal tells it, in the brokerage's terms."""

    order_id: int
    side: Side
    order_type: OrderType
    price: int  # now (after modifications); 0 for a market order
    quantity: int  # as placed: what the brokerage's `new` row holds open
    state: _State
    trades: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # id: quantity, price, sequence
    changes: list[tuple[int, _State]] = field(default_factory=list)  # (sequence, state after it)

    @property
    def last_sequence(self) -> int:
        return self.changes[-1][0] if self.changes else 0

    def change(self, sequence: int, state: _State) -> None:
        self.state = state
        if self.changes and self.changes[-1][0] == sequence:
            self.changes[-1] = (sequence, state)  # one result's events are booked together
        else:
            self.changes.append((sequence, state))

    def state_at(self, sequence: int) -> _State:
        """The state once every result up to `sequence` is booked (`new` before the first)."""
        found = _State(OrderStatus.NEW, 0, 0, self.quantity)
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
            _State(
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
    for result in _replayed(journal_directory, base_prices, progress, engine=engine):
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


def _replayed(
    directory: Path,
    base_prices: Mapping[str, int],
    progress: Progress | None,
    *,
    engine: MatchingEngine | None = None,
) -> Iterator[CommandResult]:
    total = _journal_last_sequence(directory)
    for result in replay(directory, base_prices, engine=engine):
        if progress is not None and result.sequence % PROGRESS_RESULTS_INTERVAL == 0:
            progress(result.sequence, total)
        yield result
    if progress is not None:
        progress(total, total)


def _journal_last_sequence(directory: Path) -> int:
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
                accepted = _State(OrderStatus.NEW, 0, 0, event.quantity)
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
    placed = _State(OrderStatus.NEW, 0, 0, command.quantity)
    order = VenueOrder(
        command.order_id, command.side, command.order_type, command.price, command.quantity, placed
    )
    order.change(result.sequence, _State(OrderStatus.REJECTED, 0, 0, 0))
    orders[order.order_id] = order


# --- comparing -------------------------------------------------------------------------------


@dataclass
class _Repairs:
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


class _Inspection:
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
        self.repairs = _Repairs()
        self.holds = Ledger.remaining_holds(session, reference_prefix=ORDER_REFERENCE_PREFIX)
        self.seen: set[int] = set()  # brokerage orders the venue has

    def run(self) -> _Inspection:
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
            self.session, {order.account_id for order in orders if order.status in _OPEN}
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
        elif not _rejected_as_undelivered(order):
            self._add("order.unknown_to_venue", order.id, None, "no such order", order.status.value)

    def _compare(self, order: OrderRecord, venue: VenueOrder, executions: list[ExecutionRecord]) -> None:
        expected, found, sequence = venue.state, _state_of(order), venue.last_sequence
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
        if _rejected_as_undelivered(order):
            if venue.state.status is not OrderStatus.REJECTED and not executions:
                self.repairs.revive[order.id] = order
            return
        unbooked = venue.first_change_after(order.last_sequence)
        if unbooked is None:
            return
        intact = venue.state_at(order.last_sequence) == _state_of(order) and venue.trades_up_to(
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
        asset = _asset(order)
        if order.status not in _OPEN:
            if held:
                self._add(
                    "hold.without_open_order", order.id, None, "nothing held", f"{_amount(asset, held)} held"
                )
            return
        expected = None if account is None else _expected_hold(order, venue, account)
        if expected is not None and expected != held:
            self._add(
                "hold.does_not_match_order", order.id, None, _amount(asset, expected), _amount(asset, held)
            )

    def _check_book(self, order: OrderRecord, venue: VenueOrder | None) -> None:
        resting = self.view.resting.get(order.id)
        mine = (order.side, order.price or 0, order.open_quantity)
        is_open = venue is not None and order.status in _OPEN  # an undelivered order rests nowhere
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
                _amount(holds[0].asset, held),
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
    return _Inspection(session, view, venue_name).run().report


def _rejected_as_undelivered(order: OrderRecord) -> bool:
    return order.status is OrderStatus.REJECTED and order.reject_code == NotDelivered.code


def _booked_trades(executions: Iterable[ExecutionRecord]) -> dict[int, tuple[int, int]]:
    return {execution.trade_id: (execution.quantity, execution.price) for execution in executions}


def _buy_fees(account: Account) -> FeeSchedule:
    # What a buy holds and draws is its value plus commission; the sales tax never enters it.
    return FeeSchedule(commission_ppm=account.firm.commission_ppm, tax_ppm=0)


def _expected_hold(order: OrderRecord, venue: VenueOrder | None, account: Account) -> int | None:
    """What an open order should still hold: by the venue's view when the venue has the order, by
    its ticket (what admission took) when undelivered; None for a market buy (its worst price was
    its day's upper limit, which nothing kept)."""
    if venue is not None and venue.state.status not in _OPEN:
        return 0
    price, quantity = (
        (order.price, order.quantity) if venue is None else (venue.price, venue.state.open_quantity)
    )
    if order.side is Side.SELL:
        return quantity * MICRO_PER_SHARE
    if order.order_type is OrderType.MARKET or price is None:
        return None
    return buy_hold_won(price, quantity, _buy_fees(account))


def _asset(order: OrderRecord) -> str:
    return CASH if order.side is Side.BUY else order.instrument


def _amount(asset: str, amount: int) -> str:
    if asset == CASH:
        return f"{amount:,} won"
    shares, micro = divmod(amount, MICRO_PER_SHARE)
    return f"{shares:,} shares of {asset}" if not micro else f"{amount:,} micro-shares of {asset}"


def _filled(state: _State) -> str:
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


# --- repairing -------------------------------------------------------------------------------


def reconcile_orders(
    database: Database,
    desk: OrderDesk,
    *,
    journal_directory: Path,
    base_prices: Mapping[str, int],
    venue_name: str = VENUE_NAME,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Book from the journal what the brokerage lacks (see the module's docstring), then check
    again. The caller holds the journal (the desk's venue), so it does not change meanwhile."""
    view = read_venue(journal_directory, base_prices, progress)
    with database.reading() as session:
        inspection = _Inspection(session, view, venue_name).run()
    repairs, before = inspection.repairs, inspection.report
    report = ReconcileReport(before=before, dry_run=dry_run, cursor_before=before.booked_sequence)
    planned = repairs.catch_up.keys() | repairs.revive.keys()
    if dry_run:
        report.caught_up, report.revived = sorted(repairs.catch_up), sorted(repairs.revive)
        report.cursor_after = repairs.cursor_target(before.booked_sequence, view.last_sequence)
        _note_irreparable(report, before, planned)
        return report
    results = _results_naming(journal_directory, base_prices, planned, progress) if planned else []
    ordered = sorted(planned)
    for start in range(0, len(ordered), REPAIR_ORDERS_PER_CHUNK):
        chunk = ordered[start : start + REPAIR_ORDERS_PER_CHUNK]
        with database.transaction() as session:
            _repair(session, desk, view, repairs, chunk, results, report)
    report.cursor_after = repairs.cursor_target(before.booked_sequence, view.last_sequence)
    if report.cursor_after != before.booked_sequence:
        with database.transaction() as session:
            desk.move_cursor(session, venue_name=venue_name, sequence=report.cursor_after)
    with database.reading() as session:
        report.after = _Inspection(session, view, venue_name).run().report
    _note_irreparable(report, report.after, set())
    return report


def _note_irreparable(report: ReconcileReport, check: OrdersCheckReport, planned: Collection[int]) -> None:
    """Every difference no repair (planned or done) takes care of, with the operator's action."""
    cursor_repaired = report.cursor_after == check.journal_sequence
    report.irreparable = [
        Irreparable(difference, report.notes.get(difference.order_id or 0, ACTIONS[difference.code]))
        for difference in check.differences
        if difference.order_id not in planned
        and not (difference.code.startswith("cursor.") and cursor_repaired and report.dry_run)
    ]


_Named = tuple[CommandResult, frozenset[int]]


def _results_naming(
    directory: Path, base_prices: Mapping[str, int], order_ids: Collection[int], progress: Progress | None
) -> list[_Named]:
    """The journal's results that name any of these orders, with the ones each names."""
    found = []
    for result in _replayed(directory, base_prices, progress):
        named = frozenset(orders_named([result]) & set(order_ids))
        if named:
            found.append((result, named))
    return found


def _repair(
    session: Session,
    desk: OrderDesk,
    view: VenueView,
    repairs: _Repairs,
    order_ids: list[int],
    results: list[_Named],
    report: ReconcileReport,
) -> None:
    """One chunk, in one transaction: revive, then book each order from its own last sequence on
    (orders that have seen the same results share one booking)."""
    orders = repository.orders_by_ids(session, order_ids)
    reviving = [orders[order_id] for order_id in order_ids if order_id in repairs.revive]
    revived = _revive(session, desk.ledger, view, repairs, reviving, report)
    since = dict.fromkeys(revived, 0)
    since.update(
        (order_id, orders[order_id].last_sequence) for order_id in order_ids if order_id in repairs.catch_up
    )
    for sequence in sorted(set(since.values())):
        group = {order_id for order_id, seen in since.items() if seen == sequence}
        unbooked = [result for result, named in results if result.sequence > sequence and named & group]
        desk.book_orders(session, unbooked, order_ids=group)
        report.results_booked += len(unbooked)
    for order in repository.orders_by_ids(session, since).values():
        invariant(
            _state_of(order) == view.orders[order.id].state,
            f"order {order.id} booked from the journal still differs from the venue",
        )
    report.caught_up.extend(sorted(since.keys() - revived))
    report.revived.extend(sorted(revived))


def _revive(
    session: Session,
    ledger: Ledger,
    view: VenueView,
    repairs: _Repairs,
    orders: list[OrderRecord],
    report: ReconcileReport,
) -> set[int]:
    """Hold again what each order will need and put it back to `new`, as admitted. One the account
    cannot cover any more stays rejected, with the operator's action noted."""
    accounts = brokerage_repository.accounts_by_ids(session, {order.account_id for order in orders})
    needed = {
        order.id: _revival_hold(order, view.orders[order.id], accounts[order.account_id]) for order in orders
    }
    requests = {
        order.id: HoldRequest(
            f"{order_reference(order.id)}:revived",
            accounts[order.account_id].owner,
            _asset(order),
            needed[order.id],
            order_reference(order.id),
        )
        for order in orders
        if needed[order.id]  # a venue that only cancelled or expired it draws nothing
    }
    outcomes = dict(zip(requests, ledger.hold_many(session, list(requests.values())), strict=True))
    revived = set()
    for order in orders:
        outcome = outcomes.get(order.id)
        if isinstance(outcome, LedgerError):
            venue = view.orders[order.id]
            repairs.block(venue.changes[0][0])
            report.notes[order.id] = (
                f"rejected as not delivered, but the venue has it {venue.state.status.value}: holding it "
                f"again needs {_amount(_asset(order), needed[order.id])} the account cannot cover "
                f"({outcome.detail}); credit the account (or take the trade into the firm's error "
                "account), then run the reconcile again"
            )
        else:
            revived.add(order.id)
    repository.update_orders(session, [_as_admitted(order) for order in orders if order.id in revived])
    return revived


def _revival_hold(order: OrderRecord, venue: VenueOrder, account: Account) -> int:
    """What the venue's trades will draw from a revived order, plus what it holds open at the end."""
    if order.side is Side.SELL:
        return (venue.state.filled_quantity + venue.state.open_quantity) * MICRO_PER_SHARE
    fees = _buy_fees(account)
    drawn = sum(fees.buy_cost(price * quantity) for quantity, price, _ in venue.trades.values())
    return drawn + buy_hold_won(venue.price, venue.state.open_quantity, fees)


def _as_admitted(order: OrderRecord) -> OrderRecord:
    return replace(
        order,
        status=OrderStatus.NEW,
        open_quantity=order.quantity,
        cancelled_quantity=0,
        reject_code=None,
        reject_message=None,
        last_sequence=0,
    )
