"""A stage of the order pipeline that fails never splits the brokerage from the venue.

Faults are injected at each stage (`backbone.kit.faults`); after each, the brokerage's books must
agree with the venue's journal (`backbone orders check`) and the ledger with itself (`ledger
check`), and the pipeline must come back. On both databases.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from backbone import bootstrap
from backbone.bootstrap import Container
from backbone.brokerage.domain import Account
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.desk import CancelRequest, ModifyRequest, PlaceRequest, Request
from backbone.brokerage.trading.domain import OrderRecord, OrderStatus
from backbone.brokerage.trading.errors import RecoveryFailed
from backbone.brokerage.trading.venue import VENUE_NAME
from backbone.errors import BackboneError
from backbone.exchange.messages import CommandResult
from backbone.exchange.orders import Side
from backbone.kit import faults
from backbone.kit.clock import SimulatedClock
from backbone.kit.faults import Point
from tests import builders
from tests.conftest import settings_for
from tests.trading import agreement, limit, open_market, place, placed, trading


@pytest.fixture(autouse=True)
def _disarmed() -> Iterator[None]:
    yield
    faults.disarm_all()


def locked() -> OperationalError:
    return OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))


def funded(container: Container) -> tuple[Account, Account]:
    with container.database.transaction() as session:
        builders.firm(container, session)
        buyer = builders.account(container, session, name="김매수", cash=50_000_000)
        seller = builders.account(container, session, name="이매도", shares={"005930": 500})
    return buyer, seller


def cash_held(container: Container, account: Account) -> int:
    with container.database.reading() as session:
        return container.holdings.balance(session, account).cash_held


def code_of(outcome: object) -> str:
    assert isinstance(outcome, BackboneError), f"expected a refusal, got {outcome!r}"
    return outcome.code


def order_of(container: Container, order_id: int) -> OrderRecord:
    with container.database.reading() as session:
        return repository.orders_by_ids(session, [order_id])[order_id]


def test_a_booking_that_fails_once_is_tried_again_and_answered_as_booked(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        faults.arm(Point.BOOKING_COMMIT, locked())
        bought = place(opened, buyer.id, limit(Side.BUY, 10, 71_500))
        assert faults.fired[Point.BOOKING_COMMIT] == 1
        assert isinstance(bought, OrderRecord)
        assert bought.status is OrderStatus.FILLED
        assert opened.pipeline.health().ready
        assert agreement(container, opened) == []


def test_a_booking_that_keeps_failing_pauses_orders_then_books_everything_once_it_can(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        resting = placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        faults.arm(Point.BOOKING_COMMIT, locked(), times=-1)
        pending = place(opened, buyer.id, limit(Side.BUY, 10, 71_500))
        assert code_of(pending) == "order.outcome_pending"
        assert isinstance(pending, BackboneError)
        assert pending.headers["Retry-After"]
        health = opened.pipeline.health()
        assert not health.ready
        assert "cannot book" in health.reason
        # More orders meanwhile: refused at once, nothing admitted for them.
        paused = place(opened, buyer.id, limit(Side.BUY, 1, 71_000))
        assert code_of(paused) == "order.orders_paused"
        with container.database.reading() as session:
            assert repository.booked_sequence(session, VENUE_NAME) < opened.venue.last_sequence
        faults.disarm_all()
        after = placed(opened, buyer.id, limit(Side.BUY, 1, 70_000))
        assert after.status is OrderStatus.ACCEPTED
        assert opened.pipeline.health().ready
        bought = order_of(container, pending.extensions["order_id"])
        assert bought.status is OrderStatus.FILLED
        assert order_of(container, resting.id).status is OrderStatus.FILLED
        assert agreement(container, opened) == []


def test_a_restart_while_bookings_fail_books_what_the_venue_executed_and_rejects_nothing_it_has(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        faults.arm(Point.BOOKING_COMMIT, locked(), times=-1)
        pending = [
            place(opened, buyer.id, limit(Side.BUY, 5, 71_500)),
            place(opened, buyer.id, limit(Side.BUY, 5, 71_500)),
        ]
        assert [code_of(outcome) for outcome in pending] == ["order.outcome_pending", "order.orders_paused"]
        faults.disarm_all()
    with trading(container, tmp_path) as restarted:
        assert restarted.pipeline.health().ready
        first = pending[0]
        assert isinstance(first, BackboneError)
        assert order_of(container, first.extensions["order_id"]).status is OrderStatus.FILLED
        with container.database.reading() as session:
            assert repository.orders_in_status(session, [OrderStatus.NEW]) == []
        assert agreement(container, restarted) == []


def test_a_full_disk_under_the_journal_rejects_the_batch_undelivered_and_the_venue_forgets_it(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        resting = placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        last = opened.venue.last_sequence
        faults.arm(Point.JOURNAL_WRITE, OSError(errno.ENOSPC, "No space left on device"))
        outcomes = opened.pipeline.process(
            [
                PlaceRequest(buyer.id, builders.key(), limit(Side.BUY, 4, 71_500)),
                CancelRequest(seller.id, resting.id),
            ]
        )
        assert [code_of(outcome) for outcome in outcomes] == [
            "order.not_delivered",
            "order.venue_unavailable",
        ]
        # The engine ran the buy in memory, but the journal never had it: rebuilt without it.
        assert opened.venue.last_sequence == last
        left = order_of(container, resting.id)
        assert (left.status, left.open_quantity) == (OrderStatus.ACCEPTED, 10)
        assert cash_held(container, buyer) == 0
        again = placed(opened, buyer.id, limit(Side.BUY, 4, 71_500))
        assert again.status is OrderStatus.FILLED
        assert agreement(container, opened) == []


def test_a_failure_after_the_engine_ran_but_before_the_journal_leaves_no_trace_of_the_batch(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        resting = placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        faults.arm(Point.VENUE_EXECUTE, OSError(errno.EIO, "Input/output error"))
        assert code_of(place(opened, buyer.id, limit(Side.BUY, 10, 71_500))) == "order.not_delivered"
        assert order_of(container, resting.id).open_quantity == 10
        assert opened.venue.last_sequence == order_of(container, resting.id).last_sequence
        assert agreement(container, opened) == []


def test_a_modification_that_never_reaches_the_market_gives_back_what_it_held_more(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, _seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        order = placed(opened, buyer.id, limit(Side.BUY, 10, 70_000))
        held = cash_held(container, buyer)
        faults.arm(Point.VENUE_EXECUTE, OSError(errno.EIO, "Input/output error"))
        refused = opened.pipeline.process([_modify(buyer.id, order.id, quantity=20)])[0]
        assert code_of(refused) == "order.venue_unavailable"
        assert cash_held(container, buyer) == held
        assert order_of(container, order.id).open_quantity == 10
        assert agreement(container, opened) == []


def _modify(account_id: int, order_id: int, *, quantity: int) -> ModifyRequest:
    return ModifyRequest(account_id, order_id, None, quantity)


def test_one_request_that_breaks_admission_is_refused_alone_and_the_batch_goes_on(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, _seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        faults.arm(Point.ADMISSION_COMMIT, ValueError("a request the admission code cannot take"), times=3)
        requests = [
            PlaceRequest(buyer.id, builders.key(), limit(Side.BUY, 1, 70_000 + 100 * n)) for n in range(8)
        ]
        outcomes = opened.pipeline.process(requests)
        # Halving: the whole batch, then halves, then quarters fail once each; the rest go through.
        placed_count = sum(isinstance(outcome, OrderRecord) for outcome in outcomes)
        assert placed_count == 8
        assert agreement(container, opened) == []


def test_admission_tried_again_while_the_database_is_locked(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, _ = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        faults.arm(Point.ADMISSION_COMMIT, locked(), times=2)
        order = placed(opened, buyer.id, limit(Side.BUY, 1, 70_000))
        assert order.status is OrderStatus.ACCEPTED
        faults.arm(Point.ADMISSION_COMMIT, locked(), times=-1)
        assert code_of(place(opened, buyer.id, limit(Side.BUY, 1, 70_000))) == "order.venue_unavailable"
        assert opened.pipeline.health().ready  # nothing was admitted: nothing to catch up with
        faults.disarm_all()
        assert agreement(container, opened) == []


def test_a_listener_that_fails_is_resynchronised_and_the_batch_is_answered(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer, seller = funded(container)
    seen: list[int] = []
    resynchronised: list[str] = []

    class Listener:
        def __call__(self, results: list[CommandResult]) -> None:
            seen.append(len(results))

        def resynchronise(self, venue: object) -> None:
            resynchronised.append(type(venue).__name__)

    with trading(container, tmp_path) as opened:
        opened.pipeline.add_listener(Listener())
        open_market(clock, opened)
        placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        seen.clear()
        listeners = len(opened.pipeline._listeners)
        faults.arm(Point.LISTENER, RuntimeError("a listener's bug"), skip=listeners - 1)
        bought = placed(opened, buyer.id, limit(Side.BUY, 10, 71_500))
        assert bought.status is OrderStatus.FILLED
        assert seen == []
        assert resynchronised == ["Venue"]
        placed(opened, buyer.id, limit(Side.BUY, 1, 70_000))
        assert seen == [1]
        assert agreement(container, opened) == []


def test_a_write_lock_held_past_the_busy_timeout_between_journal_and_booking_splits_nothing(
    sqlite_template: Path, clock: SimulatedClock, tmp_path: Path
) -> None:
    """The case as it was found: another connection holds SQLite's write lock past the busy
    timeout at the moment a batch was journaled but not yet booked; more orders meanwhile; then
    a restart."""
    database = tmp_path / "backbone.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    settings = settings_for(f"sqlite:///{database}", tmp_path).model_copy(
        update={"sqlite_busy_timeout_ms": 100}
    )
    container = bootstrap.build(settings, clock=clock)
    try:
        buyer, seller = funded(container)
        released = threading.Event()

        def hold_the_lock() -> None:
            connection = sqlite3.connect(database, isolation_level=None, timeout=5)
            connection.execute("BEGIN IMMEDIATE")
            holding.set()
            released.wait(10)
            connection.execute("ROLLBACK")
            connection.close()

        holding = threading.Event()

        def lock_then_go_on() -> None:
            threading.Thread(target=hold_the_lock, daemon=True).start()
            holding.wait(5)

        with trading(container, tmp_path) as opened:
            open_market(clock, opened)
            for _ in range(3):
                placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
            # Journaled (the fault point is before the journal's flush), then booking finds the lock.
            faults.arm(Point.VENUE_EXECUTE, lock_then_go_on)
            first = place(opened, buyer.id, limit(Side.BUY, 15, 71_500))
            assert code_of(first) == "order.outcome_pending"
            assert isinstance(first, BackboneError)
            more = [place(opened, buyer.id, limit(Side.BUY, 5, 71_500)) for _ in range(3)]
            assert {code_of(outcome) for outcome in more} == {"order.orders_paused"}
            released.set()
            time.sleep(0.05)
            after = placed(opened, buyer.id, limit(Side.BUY, 5, 71_500))
            assert after.status is OrderStatus.FILLED
        with trading(container, tmp_path) as restarted:
            assert restarted.pipeline.health().ready
            booked = order_of(container, first.extensions["order_id"])
            assert (booked.status, booked.filled_quantity) == (OrderStatus.FILLED, 15)
            with container.database.reading() as session:
                rejected = [
                    order
                    for order in repository.orders_in_status(session, [OrderStatus.REJECTED])
                    if order.reject_code == "order.not_delivered"
                ]
            assert rejected == []
            assert agreement(container, restarted) == []
    finally:
        container.close()


def test_a_journal_result_the_books_cannot_take_stops_the_start_naming_the_sequence_and_the_order(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    """No dead end from a state the pipeline makes itself; a state made outside it (a row edited
    by hand) is said exactly, and starting again once it is put back books everything."""
    buyer, seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        faults.arm(Point.BOOKING_COMMIT, locked(), times=-1)
        pending = place(opened, buyer.id, limit(Side.BUY, 10, 71_500))
        assert isinstance(pending, BackboneError)
        sequence = opened.venue.last_sequence
    order_id = pending.extensions["order_id"]
    faults.disarm_all()
    with container.database.transaction() as session:
        session.execute(
            text("UPDATE brokerage_orders SET status = 'cancelled' WHERE id = :id"), {"id": order_id}
        )
    with pytest.raises(RecoveryFailed) as refused:
        bootstrap.open_trading(container, journal_directory=tmp_path / "exchange")
    assert f"venue sequence {sequence} (PlaceOrder for order {order_id})" in refused.value.detail
    assert "cancelled" in refused.value.detail
    assert "backbone orders reconcile" in refused.value.detail
    with container.database.transaction() as session:
        session.execute(text("UPDATE brokerage_orders SET status = 'new' WHERE id = :id"), {"id": order_id})
    with trading(container, tmp_path) as restarted:
        assert order_of(container, order_id).status is OrderStatus.FILLED
        assert agreement(container, restarted) == []


def test_one_member_s_cancel_the_database_cannot_take_is_refused_alone_among_a_hundred_orders(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    """An order id past the database's 64-bit integers makes admission's read fail (not a fault
    the database will get over): the batch is halved until that request is alone."""
    buyer, seller = funded(container)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        valid: list[Request] = [
            PlaceRequest(buyer.id, builders.key(), limit(Side.BUY, 1, 70_000 + 100 * (n % 10)))
            for n in range(100)
        ]
        hostile = CancelRequest(seller.id, 2**63)
        outcomes = opened.pipeline.process([*valid[:50], hostile, *valid[50:]])
        assert sum(isinstance(outcome, OrderRecord) for outcome in outcomes) == 100
        refused = outcomes[50]
        assert isinstance(refused, BackboneError)
        assert refused.code == "order.not_processed"
        assert opened.pipeline.health().ready
        assert agreement(container, opened) == []
