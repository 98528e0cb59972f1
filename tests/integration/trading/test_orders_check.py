"""The orders check against the venue's journal, and the repair of what the journal can repair:
a clean session checks clean; each corruption made in SQL is reported with its code and order;
results the cursor moved past (or stopped before) are booked once and the check is clean again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from backbone.bootstrap import Container, Trading
from backbone.brokerage.domain import Account
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.desk import PlaceRequest
from backbone.brokerage.trading.domain import OrderRecord, OrderStatus, OrderTicket
from backbone.brokerage.trading.reconciliation import (
    OrdersCheckReport,
    ReconcileReport,
    check_orders,
    reconcile_orders,
)
from backbone.exchange.errors import JournalInUse
from backbone.exchange.journal_lock import lock_journal
from backbone.exchange.messages import Command
from backbone.exchange.orders import Side, TimeInForce
from backbone.kit.check import present
from backbone.kit.clock import SimulatedClock
from backbone.ledger.audit import audit
from tests import builders
from tests.trading import cancel, limit, market, modify, open_market, place, placed, trading


@dataclass(frozen=True)
class Session:
    """A morning of trading, left open: what each corruption below aims at."""

    opened: Trading
    buyer: Account
    seller: Account
    filled: OrderRecord  # a buy filled by two resting sales
    resting_sale: OrderRecord  # partly filled, still resting
    resting_buy: OrderRecord  # modified up, resting


def _trade(container: Container, clock: SimulatedClock, opened: Trading) -> Session:
    with container.database.transaction() as session:
        builders.firm(container, session)
        buyer = builders.account(container, session, name="김매수", cash=20_000_000)
        seller = builders.account(container, session, name="이매도", shares={"005930": 100, "000660": 5})
    open_market(clock, opened)
    placed(opened, seller.id, limit(Side.SELL, 30, 71_500))
    resting_sale = placed(opened, seller.id, limit(Side.SELL, 20, 71_600))
    filled = placed(opened, buyer.id, limit(Side.BUY, 40, 71_600))  # 30 @ 71,500 and 10 @ 71,600
    placed(opened, buyer.id, market(Side.BUY, 4))  # 4 more of the second sale: 6 rest
    resting_buy = placed(opened, buyer.id, limit(Side.BUY, 10, 70_000))
    assert isinstance(modify(opened, buyer.id, resting_buy.id, price=70_100, quantity=12), OrderRecord)
    cancelled = placed(opened, buyer.id, limit(Side.BUY, 5, 69_000))
    assert isinstance(cancel(opened, buyer.id, cancelled.id), OrderRecord)
    refused = place(opened, buyer.id, market(Side.BUY, 1, code="035420"))  # nothing to buy from
    assert getattr(refused, "code", None) == "order.no_liquidity"
    placed(opened, seller.id, limit(Side.SELL, 2, 200_000, code="000660"))
    partly = placed(opened, buyer.id, limit(Side.BUY, 3, 200_000, code="000660", tif=TimeInForce.IOC))
    assert (partly.status, partly.filled_quantity) == (OrderStatus.CANCELLED, 2)  # the rest cancelled
    placed(opened, seller.id, limit(Side.SELL, 3, 210_000, code="000660"))  # rests until the close
    with container.database.reading() as session:
        orders = repository.orders_by_ids(session, [filled.id, resting_sale.id, resting_buy.id])
    return Session(opened, buyer, seller, orders[filled.id], orders[resting_sale.id], orders[resting_buy.id])


@pytest.fixture
def day(container: Container, clock: SimulatedClock, tmp_path: Path) -> Iterator[Session]:
    with trading(container, tmp_path) as opened:
        yield _trade(container, clock, opened)


def _check(container: Container, opened: Trading) -> OrdersCheckReport:
    with container.database.reading() as session:
        return check_orders(
            session, journal_directory=opened.venue.journal_directory, base_prices=opened.venue.base_prices
        )


def _reconcile(container: Container, opened: Trading, *, dry_run: bool = False) -> ReconcileReport:
    return reconcile_orders(
        container.database,
        opened.desk,
        journal_directory=opened.venue.journal_directory,
        base_prices=opened.venue.base_prices,
        dry_run=dry_run,
    )


def _found(report: OrdersCheckReport) -> set[tuple[str, int | None]]:
    return {(difference.code, difference.order_id) for difference in report.differences}


def _ledger_whole(container: Container) -> bool:
    with container.database.reading() as session:
        return audit(session).ok


def test_a_whole_trading_day_to_the_close_checks_clean(
    container: Container, clock: SimulatedClock, day: Session
) -> None:
    open_market(clock, day.opened, at=(15, 31))  # the close: day orders expire
    report = _check(container, day.opened)
    with container.database.reading() as session:
        statuses = {order.status for order in repository.orders_after(session, 0, 100)}
    assert report.ok, [difference.message for difference in report.differences]
    assert statuses == {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
    }
    assert report.orders_checked == report.venue_orders == 10
    assert report.resting_checked == 0  # everything expired
    assert report.booked_sequence == report.journal_sequence > 0


def test_an_open_session_checks_clean_with_its_resting_orders_and_holds(
    container: Container, day: Session
) -> None:
    report = _check(container, day.opened)
    assert report.ok, [difference.message for difference in report.differences]
    assert report.resting_checked == 3  # the rest of the sale, the modified buy, the 000660 sale
    assert report.holds_checked >= 3


@pytest.mark.parametrize(
    ("corruption", "statement", "expected"),
    [
        (
            "filled quantity",
            "UPDATE brokerage_orders SET filled_quantity = filled_quantity - 1, "
            "cancelled_quantity = cancelled_quantity + 1 WHERE id = :filled",
            {("order.filled_differs", "filled")},
        ),
        (
            "open quantity",
            "UPDATE brokerage_orders SET open_quantity = open_quantity - 1, "
            "cancelled_quantity = cancelled_quantity + 1 WHERE id = :resting_sale",
            {("order.open_quantity_differs", "resting_sale"), ("book.resting_differs", "resting_sale")},
        ),
        (
            "status",
            "UPDATE brokerage_orders SET status = 'filled' WHERE id = :resting_buy",
            {
                ("order.status_differs", "resting_buy"),
                ("hold.without_open_order", "resting_buy"),
                ("book.resting_not_open", "resting_buy"),
            },
        ),
        (
            "execution price",
            "UPDATE brokerage_executions SET price = price + 100 WHERE order_id = :filled",
            {("order.fills_differ", "filled")},
        ),
        (
            "hold amount",
            "UPDATE ledger_holds SET remaining = remaining - 1 WHERE reference = :resting_buy_hold",
            {("hold.does_not_match_order", "resting_buy")},
        ),
        (
            # A hold cannot be deleted (its movements are append-only); detaching it is the same loss.
            "hold gone",
            "UPDATE ledger_holds SET reference = NULL WHERE reference = :resting_buy_hold",
            {("hold.does_not_match_order", "resting_buy")},
        ),
        (
            "cursor moved back",
            "UPDATE brokerage_venue_cursor SET booked_sequence = booked_sequence - 2",
            {("cursor.behind_journal", None)},
        ),
        (
            "cursor moved forward",
            "UPDATE brokerage_venue_cursor SET booked_sequence = booked_sequence + 3",
            {("cursor.ahead_of_journal", None)},
        ),
    ],
)
def test_each_corruption_made_in_sql_is_reported_with_its_code_and_order(
    container: Container, day: Session, corruption: str, statement: str, expected: set[tuple[str, str | None]]
) -> None:
    ids = {"filled": day.filled.id, "resting_sale": day.resting_sale.id, "resting_buy": day.resting_buy.id}
    with container.database.transaction() as session:
        session.execute(
            text(statement),
            {**ids, "resting_buy_hold": f"order:{day.resting_buy.id}"},
        )
    report = _check(container, day.opened)
    assert _found(report) == {(code, None if name is None else ids[name]) for code, name in expected}, (
        corruption
    )
    if corruption.startswith("cursor"):
        (moved,) = report.differences
        assert moved.sequence == report.journal_sequence + (-2 if "back" in corruption else 3)
        assert moved.message.startswith("the cursor")


def test_a_cursor_moved_back_by_hand_is_moved_forward_without_booking_anything_twice(
    container: Container, day: Session
) -> None:
    with container.database.transaction() as session:
        session.execute(text("UPDATE brokerage_venue_cursor SET booked_sequence = booked_sequence - 4"))
    repaired = _reconcile(container, day.opened)
    assert (repaired.caught_up, repaired.results_booked) == ([], 0)
    assert repaired.cursor_after == repaired.before.journal_sequence
    assert repaired.after is not None
    assert repaired.after.ok
    assert repaired.ok


def _admit(
    container: Container, opened: Trading, account: Account, ticket: OrderTicket
) -> tuple[int, Command]:
    with container.database.transaction() as session:
        admission = opened.desk.admit(session, PlaceRequest(account.id, builders.key("skipped"), ticket))
    return admission.order_id, present(admission.command, "a new order has a venue command")


def test_results_never_booked_after_a_crash_are_booked_and_the_cursor_moves_to_the_end(
    container: Container, day: Session
) -> None:
    opened = day.opened
    order_id, command = _admit(container, opened, day.buyer, limit(Side.BUY, 2, 71_600))
    opened.venue.execute([command])  # the crash: the venue has it, the booking never ran
    found = _check(container, opened)
    assert ("cursor.behind_journal", None) in _found(found)
    assert ("order.status_differs", order_id) in _found(found)
    repaired = _reconcile(container, opened)
    assert repaired.caught_up == sorted([order_id, day.resting_sale.id])  # both sides of the trade
    assert repaired.after is not None
    assert repaired.after.ok, repaired.irreparable
    assert repaired.cursor_after == found.journal_sequence
    assert _ledger_whole(container)


def _unbooked_batch(container: Container, day: Session, *, bought: int) -> tuple[int, int]:
    """A buy crossing the resting sale and a new sale, run on the venue and never booked."""
    crossing, crossing_command = _admit(container, day.opened, day.buyer, limit(Side.BUY, bought, 71_600))
    resting, resting_command = _admit(container, day.opened, day.seller, limit(Side.SELL, 2, 72_000))
    day.opened.venue.execute([crossing_command, resting_command])
    return crossing, resting


def _move_the_cursor_past(container: Container, opened: Trading) -> None:
    """What the pipeline did before a booking's failure stopped it (issue 13): the next batch's
    booking moved the cursor past a batch the venue had executed but the brokerage never booked.
    Today the pipeline books such a gap from the journal, so the state is made directly."""
    with container.database.transaction() as session:
        session.execute(
            text("UPDATE brokerage_venue_cursor SET booked_sequence = :sequence"),
            {"sequence": opened.venue.last_sequence},
        )


def test_a_batch_the_cursor_moved_past_is_booked_for_its_orders_alone_and_only_once(
    container: Container, day: Session
) -> None:
    opened = day.opened
    crossing, resting = _unbooked_batch(container, day, bought=3)  # the skipped batch
    _move_the_cursor_past(container, opened)
    later = placed(opened, day.buyer.id, limit(Side.BUY, 1, 69_000))  # booked: the cursor moves past
    found = _check(container, opened)
    assert {
        ("order.status_differs", crossing),
        ("order.fills_differ", crossing),
        ("hold.does_not_match_order", crossing),
        ("order.filled_differs", day.resting_sale.id),  # accepted long ago, 3 fills fewer than the venue
        ("book.resting_differs", day.resting_sale.id),
        ("order.status_differs", resting),
    } <= _found(found)
    assert not {code for code, _ in _found(found)} & {"cursor.behind_journal", "cursor.ahead_of_journal"}
    assert later.id not in {difference.order_id for difference in found.differences}
    planned = _reconcile(container, opened, dry_run=True)
    assert planned.caught_up == sorted([crossing, resting, day.resting_sale.id])
    assert _check(container, opened) == found  # a dry run changes nothing
    repaired = _reconcile(container, opened)
    assert repaired.caught_up == planned.caught_up
    assert repaired.after is not None
    assert repaired.after.ok, repaired.irreparable
    assert _ledger_whole(container)
    with container.database.reading() as session:
        orders = repository.orders_by_ids(session, [crossing, resting])
    assert (orders[crossing].status, orders[crossing].filled_quantity) == (OrderStatus.FILLED, 3)
    assert orders[resting].status is OrderStatus.ACCEPTED
    again = _reconcile(container, opened)
    assert (again.caught_up, again.revived, again.results_booked) == ([], [], 0)
    assert _check(container, opened).ok


def _rejected_though_delivered(container: Container, day: Session) -> int:
    """A buy the venue filled in a batch the cursor moved past, then a restart's recovery: still
    `new`, so "it never reached the venue"."""
    opened = day.opened
    crossing, command = _admit(container, opened, day.buyer, limit(Side.BUY, 4, 71_600))
    opened.venue.execute([command])
    _move_the_cursor_past(container, opened)
    placed(opened, day.buyer.id, limit(Side.BUY, 1, 69_000))
    opened.pipeline.recover()
    with container.database.reading() as session:
        assert repository.orders_by_ids(session, [crossing])[crossing].reject_code == "order.not_delivered"
    return crossing


def test_an_order_rejected_as_not_delivered_that_the_venue_has_is_revived_held_and_booked(
    container: Container, day: Session
) -> None:
    opened = day.opened
    crossing = _rejected_though_delivered(container, day)
    assert ("order.status_differs", crossing) in _found(_check(container, opened))
    repaired = _reconcile(container, opened)
    assert repaired.revived == [crossing]
    assert repaired.after is not None
    assert repaired.after.ok, repaired.irreparable
    assert _ledger_whole(container)
    with container.database.reading() as session:
        revived = repository.orders_by_ids(session, [crossing])[crossing]
    assert (revived.status, revived.filled_quantity, revived.reject_code) == (OrderStatus.FILLED, 4, None)


def test_a_revival_the_account_cannot_cover_is_left_for_the_operator_with_what_to_do(
    container: Container, day: Session
) -> None:
    opened = day.opened
    crossing = _rejected_though_delivered(container, day)  # its hold given back...
    with container.database.reading() as session:
        available = container.holdings.balance(session, day.buyer).cash_available
    placed(opened, day.buyer.id, limit(Side.BUY, available // 59_100, 59_000))  # ...and spent on a bid
    repaired = _reconcile(container, opened)
    assert repaired.revived == []
    notes = [item.action for item in repaired.irreparable if item.difference.order_id == crossing]
    assert notes
    assert all("cannot cover" in note and "credit the account" in note for note in notes)
    with container.database.reading() as session:
        assert repository.orders_by_ids(session, [crossing])[crossing].status is OrderStatus.REJECTED
    assert _ledger_whole(container)


def test_a_second_process_cannot_open_the_journal_a_venue_holds(day: Session) -> None:
    with pytest.raises(JournalInUse, match="holds the venue's journal"):
        lock_journal(day.opened.venue.journal_directory)


def test_an_order_that_cannot_be_repaired_keeps_the_cursor_before_its_results_and_every_later_one(
    container: Container, day: Session
) -> None:
    opened = day.opened
    broken, later = _unbooked_batch(container, day, bought=2)  # a crash before booking: cursor behind
    with container.database.transaction() as session:  # and a row changed by hand meanwhile
        session.execute(
            text("UPDATE brokerage_orders SET status = 'accepted' WHERE id = :id"), {"id": broken}
        )
    stuck = _reconcile(container, opened)
    assert (stuck.caught_up, stuck.results_booked) == ([], 0)
    assert stuck.cursor_after == stuck.cursor_before < stuck.before.journal_sequence
    actions = {(item.difference.code, item.difference.order_id): item.action for item in stuck.irreparable}
    assert "changed outside the order chain" in actions[("order.status_differs", broken)]
    assert "repair that one" in actions[("order.status_differs", later)]
    assert ("cursor.behind_journal", None) in actions
    with container.database.transaction() as session:  # the operator puts the row back
        session.execute(text("UPDATE brokerage_orders SET status = 'new' WHERE id = :id"), {"id": broken})
    repaired = _reconcile(container, opened)
    assert repaired.caught_up == sorted([broken, later, day.resting_sale.id])
    assert repaired.after is not None
    assert repaired.after.ok, repaired.irreparable
    assert _ledger_whole(container)
