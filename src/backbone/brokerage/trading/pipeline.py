"""The order pipeline: one thread owns the venue and moves requests through three stages, a batch
at a time, so that many orders share each commit and each journal sync.

    admit  (one database transaction)  checks and holds for the whole batch; a refusal is that
                                       request's alone; orders are written as `new`
    venue  (one journal group)         the admitted commands are sequenced, journaled, matched;
                                       their results come back once durable
    book   (one database transaction)  the results become order states, fills, settlements

Only then are the requesters answered and the results passed on (to the quote feed). If the
process dies between the venue and the booking, `recover()` at the next start books every result
after the cursor from the venue's journal; an order still `new` after that never reached the
venue and is rejected (`order.not_delivered`), its hold given back. Nothing is half-written.

Two ways to drive it: `process(requests)` runs one batch on the caller's thread (tests, the demo
day, the CLI), or `start()` runs the thread and `submit(request)` returns a future (the server).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import date
from typing import cast

from sqlalchemy.orm import Session

from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import BookingReport, order_reference
from backbone.brokerage.trading.desk import Admission, OrderDesk, Request
from backbone.brokerage.trading.domain import OrderRecord, OrderStatus
from backbone.brokerage.trading.errors import OrderError, VenueUnavailable
from backbone.brokerage.trading.settlement import Settler
from backbone.brokerage.trading.venue import VENUE_NAME, Venue
from backbone.errors import BackboneError
from backbone.exchange.messages import Command, CommandResult
from backbone.kit.check import invariant
from backbone.kit.clock import Clock, seoul_date
from backbone.kit.db import Database
from backbone.kit.ids import ID_MAX
from backbone.kit.logs import get_logger

BATCH_REQUESTS_MAX = 512
SESSION_CHECK_INTERVAL_S = 1.0
QUEUE_REQUESTS_MAX = 20_000
RECOVERY_RESULTS_PER_BATCH = 2_000
BROKERAGE_ORDER_ID_MAX = ID_MAX  # brokerage orders take 53-bit ids; others number above them
log = get_logger("backbone.orders")

Outcome = OrderRecord | BackboneError
ResultsListener = Callable[[list[CommandResult]], None]


class NotDelivered(OrderError):
    """The order was reserved but the process stopped before the market received it."""

    status_code = 409
    code = "order.not_delivered"
    title = "The order did not reach the market"


@dataclass(frozen=True, slots=True)
class _Queued:
    request: Request
    future: Future[Outcome]


class OrderPipeline:
    def __init__(
        self,
        *,
        database: Database,
        desk: OrderDesk,
        venue: Venue,
        settler: Settler,
        clock: Clock,
        listeners: Sequence[ResultsListener] = (),
        batch_requests_max: int = BATCH_REQUESTS_MAX,
    ) -> None:
        invariant(
            1 <= batch_requests_max <= BATCH_REQUESTS_MAX, "a batch holds 1..BATCH_REQUESTS_MAX requests"
        )
        self._database = database
        self._desk = desk
        self.venue = venue
        self._settler = settler
        self._clock = clock
        self._listeners = list(listeners)
        self._batch_requests_max = batch_requests_max
        self._queue: queue.Queue[_Queued] = queue.Queue(maxsize=QUEUE_REQUESTS_MAX)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one batch at a time, whichever thread drives it
        self._settled_on: date | None = None

    def add_listener(self, listener: ResultsListener) -> None:
        self._listeners.append(listener)

    # --- driving it inline ----------------------------------------------------------------------

    def process(self, requests: Sequence[Request]) -> list[Outcome]:
        """Run one batch through admission, the venue and booking; each request's outcome."""
        with self._lock:
            return self._process(requests)

    def advance_session(self) -> list[CommandResult]:
        """Submit the session phase changes the schedule says are due now and book their results
        (auction fills, expiries); on the first call of each calendar day, settle what falls due
        that day, whatever sessions were missed while no process ran the market."""
        with self._lock:
            commands: list[Command] = list(self.venue.due_phase_changes())
            results = self._run(commands) if commands else []
            today = seoul_date(self._clock.now())
            if self._settled_on != today:
                self.settle()
                self._settled_on = today
            return results

    def run_commands(self, commands: Sequence[Command]) -> list[CommandResult]:
        """Run venue commands that are no account's orders (the liquidity simulator's, another
        member's) through the venue; their results are booked like any (their orders skipped,
        customers' fills against them booked) and passed to the listeners.

        The venue does not know who owns an order, so this is where ownership is kept: such
        commands may not name an order id in the brokerage's 53-bit space."""
        for command in commands:
            order_id = getattr(command, "order_id", None)
            invariant(
                order_id is None or order_id > BROKERAGE_ORDER_ID_MAX,
                f"another participant's command names order {order_id}, a brokerage order id",
            )
        with self._lock:
            return self._run(list(commands)) if commands else []

    def settle(self) -> int:
        with self._database.transaction() as session:
            settled = self._settler.settle_due(session, seoul_date(self._clock.now()))
        if settled:
            log.info("settlement.done", settled=settled)
        return settled

    def recover(self) -> int:
        """Book every published result after the cursor, then reject orders the venue never got."""
        with self._lock:
            with self._database.reading() as session:
                booked = repository.booked_sequence(session, VENUE_NAME)
            results = self.venue.results_after(booked) if self.venue.last_sequence > booked else []
            for start in range(0, len(results), RECOVERY_RESULTS_PER_BATCH):
                with self._database.transaction() as session:
                    self._desk.book(
                        session, results[start : start + RECOVERY_RESULTS_PER_BATCH], venue_name=VENUE_NAME
                    )
            with self._database.transaction() as session:
                undelivered = repository.orders_in_status(session, [OrderStatus.NEW])
                self._reject_undelivered(session, undelivered)
            if results or undelivered:
                log.warning(
                    "orders.recovered", results_booked=len(results), orders_not_delivered=len(undelivered)
                )
            return len(results)

    def _reject_undelivered(self, session: Session, orders: list[OrderRecord]) -> None:
        now = self._clock.now()
        for order in orders:
            for hold in self._desk.ledger.holds_for(session, order_reference(order.id)):
                if hold.remaining:
                    self._desk.ledger.release(
                        session, idempotency_key=f"order:{order.id}:undelivered", hold_id=hold.id
                    )
        repository.update_orders(
            session,
            [
                replace(
                    order,
                    status=OrderStatus.REJECTED,
                    open_quantity=0,
                    cancelled_quantity=order.quantity - order.filled_quantity,
                    reject_code=NotDelivered.code,
                    reject_message="the process stopped before the market received the order",
                    updated_at=now,
                )
                for order in orders
            ],
        )

    # --- the thread -----------------------------------------------------------------------------

    def start(self) -> None:
        invariant(self._thread is None, "the pipeline runs once")
        self._thread = threading.Thread(target=self._loop, name="order-pipeline", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, request: Request) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        if self._thread is None or self._stopping.is_set():
            future.set_result(VenueUnavailable("the order pipeline is not running"))
            return future
        try:
            self._queue.put_nowait(_Queued(request, future))
        except queue.Full:
            future.set_result(VenueUnavailable("too many orders are waiting; try again in a moment"))
        return future

    def _loop(self) -> None:
        while not self._stopping.is_set():
            batch = self._take_batch()
            if batch:
                try:
                    outcomes = self.process([item.request for item in batch])
                except Exception as error:
                    log.error("orders.batch_failed", exc_info=error)
                    outcomes = [VenueUnavailable("the order could not be processed") for _ in batch]
                for item, outcome in zip(batch, outcomes, strict=True):
                    item.future.set_result(outcome)
            try:
                self.advance_session()
            except Exception as error:
                log.error("session.advance_failed", exc_info=error)

    def _take_batch(self) -> list[_Queued]:
        try:
            first = self._queue.get(timeout=SESSION_CHECK_INTERVAL_S)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < self._batch_requests_max:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    # --- one batch ------------------------------------------------------------------------------

    def _process(self, requests: Sequence[Request]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(requests)
        admitted: list[tuple[int, Admission]] = []
        with self._database.transaction() as session:
            for index, admitted_or_refused in enumerate(self._desk.admit_many(session, requests)):
                if isinstance(admitted_or_refused, BackboneError):
                    outcomes[index] = admitted_or_refused
                else:
                    admitted.append((index, admitted_or_refused))
        commands = [admission.command for _, admission in admitted if admission.command is not None]
        results = self._run_venue(commands) if commands else []
        report = self._book(results) if results else BookingReport()
        sequences = iter(result.sequence for result in results)
        unanswered: list[tuple[int, int]] = []
        for index, admission in admitted:
            if admission.command is not None:
                refusal = report.refusals.get(next(sequences))
                if refusal is not None:
                    refusal.extensions.setdefault("order_id", admission.order_id)
                    outcomes[index] = refusal
                    continue
            booked = report.orders.get(admission.order_id)
            if booked is None:
                unanswered.append((index, admission.order_id))
            else:
                outcomes[index] = booked
        if unanswered:
            with self._database.reading() as session:
                found = repository.orders_by_ids(session, [order_id for _, order_id in unanswered])
            for index, order_id in unanswered:
                outcomes[index] = found[order_id]
        answered: list[Outcome] = []
        for outcome in outcomes:
            invariant(outcome is not None, "every request in a batch is answered")
            answered.append(cast(Outcome, outcome))
        return answered

    def _run(self, commands: list[Command]) -> list[CommandResult]:
        results = self._run_venue(commands)
        self._book(results)
        return results

    def _run_venue(self, commands: list[Command]) -> list[CommandResult]:
        return self.venue.execute(commands)

    def _book(self, results: list[CommandResult]) -> BookingReport:
        with self._database.transaction() as session:
            report = self._desk.book(session, results, venue_name=VENUE_NAME)
        for listener in self._listeners:
            listener(results)
        return report
