"""Repairing what the venue's journal can repair (the package's docstring says what and why):

1. revive, a chunk of orders per transaction: each order rejected as not delivered that the venue
   has is held again for what the venue's trades will draw plus what it still needs open, and put
   back to `new`; one the account cannot cover stays rejected and blocks the cursor;
2. the cursor's target: the journal's end, or just before the first result an order that cannot
   be repaired lacks (never past work left undone), but never back from where it is unless it is
   beyond the journal's end;
3. catch up, a chunk per transaction: each order is booked the journal's results after its own
   last booked sequence, up to the target, for itself alone (orders that have seen the same
   results share one booking), and must then agree with the venue at the target;
4. move the cursor to the target, and check again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import order_reference, orders_named
from backbone.brokerage.trading.desk import OrderDesk
from backbone.brokerage.trading.domain import OrderRecord, OrderStatus, buy_hold_won
from backbone.brokerage.trading.reconciliation.check import (
    Inspection,
    Repairs,
    amount_text,
    asset_of,
    buy_fees,
)
from backbone.brokerage.trading.reconciliation.report import (
    ACTIONS,
    Irreparable,
    OrdersCheckReport,
    ReconcileReport,
)
from backbone.brokerage.trading.reconciliation.venue_view import (
    Progress,
    VenueOrder,
    VenueView,
    read_venue,
    replayed,
    state_of,
)
from backbone.brokerage.trading.venue import VENUE_NAME
from backbone.exchange.messages import CommandResult
from backbone.exchange.orders import Side
from backbone.kit.check import invariant
from backbone.kit.db import Database
from backbone.kit.money import MICRO_PER_SHARE
from backbone.ledger.errors import LedgerError
from backbone.ledger.service import HoldRequest, Ledger

REPAIR_ORDERS_PER_CHUNK = 500  # orders repaired in one transaction

_Named = tuple[CommandResult, frozenset[int]]  # a result, and the orders being repaired it names
WAITING = (
    "its results come after those of an order that cannot be repaired: repair that one, then run "
    "the reconcile again"
)


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
    """Book from the journal what the brokerage lacks, then check again. The caller holds the
    journal (the desk's venue does), so that it does not change meanwhile."""
    view = read_venue(journal_directory, base_prices, progress)
    with database.reading() as session:
        inspection = Inspection(session, view, venue_name).run()
    repairs, before = inspection.repairs, inspection.report
    report = ReconcileReport(before=before, dry_run=dry_run, cursor_before=before.booked_sequence)
    if dry_run:
        report.caught_up, report.revived = sorted(repairs.catch_up), sorted(repairs.revive)
        report.cursor_after = repairs.cursor_target(before.booked_sequence, view.last_sequence)
        _note_irreparable(report, before, planned=repairs.catch_up.keys() | repairs.revive.keys())
        return report
    for chunk in _chunks(sorted(repairs.revive)):
        with database.transaction() as session:
            _revive(session, desk.ledger, view, repairs, chunk, report)
    report.cursor_after = target = repairs.cursor_target(before.booked_sequence, view.last_sequence)
    behind = sorted(repairs.catch_up.keys() | set(report.revived))
    results = _results_naming(journal_directory, base_prices, set(behind), target, progress) if behind else []
    for chunk in _chunks(behind):
        with database.transaction() as session:
            _catch_up(session, desk, view, chunk, results, target, report)
    report.caught_up.sort()
    if target != before.booked_sequence:
        with database.transaction() as session:
            desk.move_cursor(session, venue_name=venue_name, sequence=target)
    with database.reading() as session:
        report.after = Inspection(session, view, venue_name).run().report
    _note_irreparable(report, report.after, planned=())
    return report


def _chunks(order_ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(order_ids), REPAIR_ORDERS_PER_CHUNK):
        yield order_ids[start : start + REPAIR_ORDERS_PER_CHUNK]


def _note_irreparable(report: ReconcileReport, check: OrdersCheckReport, *, planned: Collection[int]) -> None:
    """Every difference that no repair (planned or done) takes care of, with the operator's action."""
    cursor_repaired = report.dry_run and report.cursor_after == check.journal_sequence
    report.irreparable = [
        Irreparable(difference, report.notes.get(difference.order_id or 0, ACTIONS[difference.code]))
        for difference in check.differences
        if difference.order_id not in planned
        and not (cursor_repaired and difference.code.startswith("cursor."))
    ]


def _results_naming(
    directory: Path,
    base_prices: Mapping[str, int],
    order_ids: set[int],
    target: int,
    progress: Progress | None,
) -> list[_Named]:
    """The journal's results up to the target that name any of these orders."""
    found = []
    for result in replayed(directory, base_prices, progress):
        named = frozenset(orders_named([result]) & order_ids)
        if named and result.sequence <= target:
            found.append((result, named))
    return found


def _catch_up(
    session: Session,
    desk: OrderDesk,
    view: VenueView,
    order_ids: list[int],
    results: list[_Named],
    target: int,
    report: ReconcileReport,
) -> None:
    since = {order.id: order.last_sequence for order in repository.orders_by_ids(session, order_ids).values()}
    for sequence in sorted(set(since.values())):
        group = {order_id for order_id, seen in since.items() if seen == sequence}
        unbooked = [
            (result, named) for result, named in results if result.sequence > sequence and named & group
        ]
        desk.book_orders(session, [result for result, _ in unbooked], order_ids=group)
        report.results_booked += len(unbooked)
        for order_id in sorted(group):
            if not any(order_id in named for _, named in unbooked):
                report.notes[order_id] = WAITING  # all its results lie after the target
            elif order_id not in report.revived:
                report.caught_up.append(order_id)
    for order in repository.orders_by_ids(session, order_ids).values():
        invariant(
            state_of(order) == view.orders[order.id].state_at(max(target, since[order.id])),
            f"order {order.id} booked from the journal still differs from the venue",
        )


def _revive(
    session: Session,
    ledger: Ledger,
    view: VenueView,
    repairs: Repairs,
    order_ids: list[int],
    report: ReconcileReport,
) -> None:
    """Hold again what each order will need and put it back to `new`, as admitted. One the account
    cannot cover any more stays rejected, with the operator's action noted."""
    orders = repository.orders_by_ids(session, order_ids)
    accounts = brokerage_repository.accounts_by_ids(session, {order.account_id for order in orders.values()})
    needed = {
        order_id: _revival_hold(order, view.orders[order_id], accounts[order.account_id])
        for order_id, order in orders.items()
    }
    requests = {
        order_id: HoldRequest(
            f"{order_reference(order_id)}:revived",
            accounts[order.account_id].owner,
            asset_of(order),
            needed[order_id],
            order_reference(order_id),
        )
        for order_id, order in orders.items()
        if needed[order_id]  # a venue that only cancelled or expired it draws nothing
    }
    held = ledger.hold_many(session, list(requests.values())) if requests else []
    refusals = {
        order_id: outcome
        for order_id, outcome in zip(requests, held, strict=True)
        if isinstance(outcome, LedgerError)
    }
    for order_id, refusal in refusals.items():
        venue = view.orders[order_id]
        repairs.block(venue.changes[0][0])
        report.notes[order_id] = (
            f"rejected as not delivered, but the venue has it {venue.state.status.value}: holding it "
            f"again needs {amount_text(asset_of(orders[order_id]), needed[order_id])}, which the "
            f"account cannot cover ({refusal.detail}); credit the account (or take the trade into "
            "the firm's error account), then run the reconcile again"
        )
    revived = [order for order_id, order in orders.items() if order_id not in refusals]
    repository.update_orders(session, [_as_admitted(order) for order in revived])
    report.revived.extend(order.id for order in revived)


def _revival_hold(order: OrderRecord, venue: VenueOrder, account: Account) -> int:
    """What the venue's trades will draw from a revived order, plus what it holds open at the end."""
    if order.side is Side.SELL:
        return (venue.state.filled_quantity + venue.state.open_quantity) * MICRO_PER_SHARE
    fees = buy_fees(account)
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
