"""The order pipeline: one thread owns the venue and moves requests through three stages, a batch
at a time, so that many orders share each commit and each journal sync.

    admit  (one database transaction)  checks and holds for the whole batch; a refusal is that
                                       request's alone; orders are written as `new`
    venue  (one journal group)         the admitted commands are sequenced, journaled, matched;
                                       their results come back once durable
    book   (one database transaction)  the results become order states, fills, settlements, and
                                       the booked cursor moves to the batch's last sequence

Only then are the requesters answered and the results passed on to the listeners (the quote
feed, the price board), each on its own: a listener that fails is resynchronised from the
venue's books and never stops the batch.

A stage that fails never moves the pipeline past its batch (STYLE.md rule 14):
- admission: nothing was written; the batch is tried again (bounded, with backoff) while the
  failure is the database's (locked, restarting, out of reach); a failure that is not (a bad
  request) is isolated by halving the batch until the one request that fails is refused alone.
- venue or booking: the market may have executed what the brokerage has not booked. The booked
  cursor moves only over booked results (`OrderDesk.book` refuses a gap), so nothing is skipped:
  the pipeline restores itself — the venue rebuilt from its journal if the failure was inside it,
  every result after the cursor booked, orders still `new` (never delivered) rejected and their
  holds given back — tried again with backoff. The batch's requesters are then answered from
  the books. While it cannot restore, it takes no orders (503 `order.orders_paused` with
  Retry-After, `/readyz` not ready), answers the batch `order.outcome_pending` with each
  order's id, and keeps trying.
Start-up runs the same restoration (`recover()`), so a process killed between any two steps
comes back to exactly the books its journal and database hold.

Two ways to drive it: `process(requests)` runs one batch on the caller's thread (tests, the demo
day, the CLI), or `start()` runs the thread and `submit(request)` returns a future (the server).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date
from typing import cast

from sqlalchemy.orm import Session

from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import BookingReport, order_reference
from backbone.brokerage.trading.desk import (
    Admission,
    BookingFailed,
    ModifyRequest,
    OrderDesk,
    PlaceRequest,
    Request,
)
from backbone.brokerage.trading.domain import OrderRecord, OrderStatus
from backbone.brokerage.trading.errors import (
    NotDelivered,
    OrderError,
    OrderNotProcessed,
    OrdersPaused,
    OutcomePending,
    RecoveryFailed,
    VenueUnavailable,
)
from backbone.brokerage.trading.settlement import Settler
from backbone.brokerage.trading.venue import VENUE_NAME, Venue
from backbone.errors import BackboneError
from backbone.exchange.messages import Command, CommandResult
from backbone.kit import faults
from backbone.kit.check import invariant
from backbone.kit.clock import Clock, seoul_date
from backbone.kit.db import Database, is_transient
from backbone.kit.faults import Point
from backbone.kit.ids import ID_MAX
from backbone.kit.logs import get_logger

BATCH_REQUESTS_MAX = 512
SESSION_CHECK_INTERVAL_S = 1.0
QUEUE_REQUESTS_MAX = 20_000
RECOVERY_RESULTS_PER_BATCH = 2_000
BROKERAGE_ORDER_ID_MAX = ID_MAX  # brokerage orders take 53-bit ids; others number above them
RETRY_DELAYS_MS = (20, 100, 400, 1_000, 2_000)  # a stage's tries after the first, then it halts
RESTORE_DELAY_MS_MAX = 5_000  # while halted, between tries to restore
log = get_logger("backbone.orders")

Outcome = OrderRecord | BackboneError
ResultsListener = Callable[[list[CommandResult]], None]

__all__ = ["NotDelivered", "OrderPipeline", "Outcome", "PipelineHealth", "ResultsListener"]


@dataclass(frozen=True, slots=True)
class _Queued:
    request: Request
    future: Future[Outcome]


@dataclass(frozen=True, slots=True)
class PipelineHealth:
    ready: bool
    reason: str  # why it takes no orders; "" when ready


@dataclass
class Restored:
    """What one restoration booked: the results, what booking decided, the orders rejected as
    never delivered."""

    results: list[CommandResult] = field(default_factory=list)
    report: BookingReport = field(default_factory=BookingReport)
    undelivered: set[int] = field(default_factory=set)


class StageFailed(Exception):
    """The venue or the booking stage failed after its tries: the pipeline must restore."""


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
        retry_delays_ms: Sequence[int] = RETRY_DELAYS_MS,
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
        self._stale_listeners: list[ResultsListener] = []
        self._batch_requests_max = batch_requests_max
        self._retry_delays_s = [delay / 1000 for delay in retry_delays_ms]
        self._queue: queue.Queue[_Queued] = queue.Queue(maxsize=QUEUE_REQUESTS_MAX)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one batch at a time, whichever thread drives it
        self._settled_on: date | None = None
        # What a failed stage left: results the venue published that are not booked, and
        # whether the venue's engine may hold commands its journal lacks.
        self._unbooked: list[CommandResult] = []
        self._venue_suspect = False
        self._needs_restore = False
        self._halted = ""  # why the pipeline takes no orders; "" while it does

    def add_listener(self, listener: ResultsListener) -> None:
        self._listeners.append(listener)

    def health(self) -> PipelineHealth:
        return PipelineHealth(ready=not self._halted, reason=self._halted)

    @property
    def needs_restore(self) -> bool:
        """A stage failed and the books have not caught up with the venue yet."""
        return self._needs_restore

    # --- driving it inline ----------------------------------------------------------------------

    def process(self, requests: Sequence[Request]) -> list[Outcome]:
        """Run one batch through admission, the venue and booking; each request's outcome."""
        with self._lock:
            if self._needs_restore and not self._restore_with_retries():
                return [OrdersPaused(self._halted) for _ in requests]
            return self._process(requests)

    def advance_session(self) -> list[CommandResult]:
        """Submit the session phase changes the schedule says are due now and book their results
        (auction fills, expiries); on the first call of each calendar day, settle what falls due
        that day, whatever sessions were missed while no process ran the market."""
        with self._lock:
            if self._needs_restore and not self._restore_with_retries():
                return []
            commands: list[Command] = list(self.venue.due_phase_changes())
            results = self._run(commands) if commands else []
            today = seoul_date(self._clock.now())
            if self._settled_on != today and self._settle_or_defer():
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
            if self._needs_restore and not self._restore_with_retries():
                return []
            return self._run(list(commands)) if commands else []

    def settle(self) -> int:
        with self._database.transaction() as session:
            settled = self._settler.settle_due(session, seoul_date(self._clock.now()))
            faults.hit(Point.SETTLEMENT_COMMIT)
        if settled:
            log.info("settlement.done", settled=settled)
        return settled

    def recover(self) -> int:
        """At start: book every result the journal holds after the cursor, then reject the orders
        the venue never got. Raises (and the process does not start) only on what it cannot
        book, naming the sequence."""
        with self._lock:
            try:
                restored = self._restore()
            except BookingFailed as error:
                raise RecoveryFailed(str(error), sequence=error.sequence) from error
            return len(restored.results)

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
        elif self._halted:
            future.set_result(OrdersPaused(self._halted))
        else:
            try:
                self._queue.put_nowait(_Queued(request, future))
            except queue.Full:
                future.set_result(VenueUnavailable("too many orders are waiting; try again in a moment"))
        return future

    def _loop(self) -> None:
        delay_s = self._retry_delays_s[0] if self._retry_delays_s else 0.0
        while not self._stopping.is_set():
            if self._needs_restore:
                with self._lock:
                    restored = self._restore_with_retries()
                if not restored:
                    self._refuse_waiting()
                    self._stopping.wait(delay_s)
                    delay_s = min(max(delay_s * 2, 0.01), RESTORE_DELAY_MS_MAX / 1000)
                    continue
            batch = self._take_batch()
            if batch:
                try:
                    outcomes = self.process([item.request for item in batch])
                except Exception as error:  # a programmer error: the batch wrote nothing it keeps
                    log.error("orders.batch_failed", exc_info=error)
                    outcomes = [OrderNotProcessed("the order could not be processed") for _ in batch]
                for item, outcome in zip(batch, outcomes, strict=True):
                    item.future.set_result(outcome)
            try:
                self.advance_session()
            except Exception as error:
                log.error("session.advance_failed", exc_info=error)

    def _refuse_waiting(self) -> None:
        """While halted: whatever still waits in the queue is refused at once (nothing of it was
        admitted), rather than timing out."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            item.future.set_result(OrdersPaused(self._halted))

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
        for index, admitted_or_refused in enumerate(self._admit(requests)):
            if isinstance(admitted_or_refused, BackboneError):
                outcomes[index] = admitted_or_refused
            else:
                admitted.append((index, admitted_or_refused))
        commands = [admission.command for _, admission in admitted if admission.command is not None]
        try:
            results = self._execute(commands) if commands else []
            report = self._book_with_retries(results) if results else BookingReport()
        except StageFailed:
            self._answer_after_failure(requests, admitted, outcomes)
        else:
            faults.hit(Point.BOOKED)
            self._answer(admitted, results, report, outcomes)
        answered: list[Outcome] = []
        for outcome in outcomes:
            invariant(outcome is not None, "every request in a batch is answered")
            answered.append(cast(Outcome, outcome))
        return answered

    def _answer(
        self,
        admitted: list[tuple[int, Admission]],
        results: list[CommandResult],
        report: BookingReport,
        outcomes: list[Outcome | None],
    ) -> None:
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

    def _answer_after_failure(
        self,
        requests: Sequence[Request],
        admitted: list[tuple[int, Admission]],
        outcomes: list[Outcome | None],
    ) -> None:
        """The venue or booking failed: restore, then answer each admitted request from what the
        books now say; if the pipeline cannot restore, say the outcome is pending."""
        suspects = [
            admission.order_id
            for index, admission in admitted
            if admission.command is not None and isinstance(requests[index], ModifyRequest)
        ]
        restored = self._restore_with_retries(suspects)
        if restored is None:
            for index, admission in admitted:
                outcomes[index] = OutcomePending(
                    "the market may have the order; it is booked as soon as the books catch up",
                    order_id=admission.order_id,
                )
            return
        delivered = _results_by_order(restored.results)
        with self._database.reading() as session:
            found = repository.orders_by_ids(session, [admission.order_id for _, admission in admitted])
        for index, admission in admitted:
            outcomes[index] = _answer_restored(
                requests[index], admission, found[admission.order_id], delivered, restored
            )

    def _admit(self, requests: Sequence[Request]) -> list[Admission | BackboneError]:
        """Admit in one transaction, tried again while the database is the trouble; a request that
        makes admission fail for another reason is found by halving the batch, and refused alone."""
        for attempt, delay_s in enumerate([*self._retry_delays_s, None]):
            try:
                with self._database.transaction() as session:
                    outcomes = self._desk.admit_many(session, requests)
                    faults.hit(Point.ADMISSION_COMMIT)
                return outcomes
            except Exception as error:
                if not is_transient(error) and len(requests) > 1:
                    half = len(requests) // 2
                    return self._admit(requests[:half]) + self._admit(requests[half:])
                if delay_s is None or not is_transient(error):
                    log.error("orders.admission_failed", requests=len(requests), exc_info=error)
                    return [_not_admitted(error) for _ in requests]
                log.warning("orders.admission_retry", attempt=attempt + 1, error=repr(error))
                self._stopping.wait(delay_s)
        raise AssertionError("unreachable: the last try returns")  # pragma: no cover

    def _run(self, commands: list[Command]) -> list[CommandResult]:
        """Commands that answer no requester (session changes, other participants' orders)."""
        try:
            results = self._execute(commands)
            self._book_with_retries(results)
        except StageFailed:
            restored = self._restore_with_retries()
            return [] if restored is None else restored.results
        return results

    def _execute(self, commands: list[Command]) -> list[CommandResult]:
        invariant(not self._unbooked, "a batch goes to the venue only once everything before it is booked")
        try:
            results = self.venue.execute(commands)
        except Exception as error:
            log.error("orders.venue_failed", commands=len(commands), exc_info=error)
            self._venue_suspect = True
            self._needs_restore = True
            raise StageFailed from error
        self._unbooked = results
        return results

    def _book_with_retries(self, results: list[CommandResult]) -> BookingReport:
        for attempt, delay_s in enumerate([*self._retry_delays_s, None]):
            try:
                return self._book(results)
            except Exception as error:
                if delay_s is None:
                    log.error("orders.booking_failed", first_sequence=results[0].sequence, exc_info=error)
                    self._needs_restore = True
                    raise StageFailed from error
                log.warning("orders.booking_retry", attempt=attempt + 1, error=repr(error))
                self._stopping.wait(delay_s)
        raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover

    def _book(self, results: list[CommandResult]) -> BookingReport:
        with self._database.transaction() as session:
            report = self._desk.book(session, results, venue_name=VENUE_NAME)
            faults.hit(Point.BOOKING_COMMIT)
        self._unbooked = [result for result in self._unbooked if result.sequence > report.last_sequence]
        self._notify(results)
        return report

    # --- listeners ------------------------------------------------------------------------------

    def _notify(self, results: list[CommandResult]) -> None:
        """Each listener on its own: one that fails is resynchronised from the venue's books (the
        quote feed sends every subscriber a fresh snapshot), never given a later batch as if
        nothing had been missed."""
        for listener in self._listeners:
            if listener in self._stale_listeners and not self._resynchronise(listener):
                continue
            try:
                faults.hit(Point.LISTENER)
                listener(results)
            except Exception as error:
                log.error("orders.listener_failed", listener=repr(listener), exc_info=error)
                self._stale_listeners.append(listener)
                self._resynchronise(listener)

    def _resynchronise(self, listener: ResultsListener) -> bool:
        resynchronise = getattr(listener, "resynchronise", None)
        if resynchronise is None:
            self._stale_listeners.remove(listener)  # nothing to rebuild: it goes on from here
            return True
        try:
            resynchronise(self.venue)
        except Exception as error:
            log.error("orders.listener_resync_failed", listener=repr(listener), exc_info=error)
            return False
        self._stale_listeners.remove(listener)
        return True

    # --- restoring ------------------------------------------------------------------------------

    def _restore_with_retries(self, suspects: Sequence[int] = ()) -> Restored | None:
        for attempt, delay_s in enumerate([*self._retry_delays_s, None]):
            try:
                restored = self._restore(suspects)
            except Exception as error:
                if delay_s is None:
                    self._halted = f"the brokerage cannot book the market's results: {error}"
                    log.error("orders.halted", reason=self._halted, exc_info=error)
                    return None
                log.warning("orders.restore_retry", attempt=attempt + 1, error=repr(error))
                self._stopping.wait(delay_s)
            else:
                if self._halted:
                    log.warning("orders.resumed", results_booked=len(restored.results))
                self._halted = ""
                return restored
        raise AssertionError("unreachable: the last try returns")  # pragma: no cover

    def _restore(self, suspects: Sequence[int] = ()) -> Restored:
        """Bring the brokerage level with the venue's journal: the venue rebuilt from it if a
        failure inside the venue left its memory in doubt; every result after the booked cursor
        booked, in order; orders still `new` (their commands never reached the journal) rejected
        with their holds given back, and modifications that never reached it give back what they
        held more."""
        if self._venue_suspect:
            self.venue.reopen()
            self._unbooked = []
            self._venue_suspect = False
        restored = Restored()
        with self._database.reading() as session:
            booked = repository.booked_sequence(session, VENUE_NAME)
        invariant(
            booked <= self.venue.last_sequence,
            f"the brokerage booked up to venue sequence {booked}, but the journal in "
            f"{self.venue.journal_directory} ends at {self.venue.last_sequence}",
        )
        if self.venue.last_sequence > booked:
            restored.results = self._backlog(booked)
        for start in range(0, len(restored.results), RECOVERY_RESULTS_PER_BATCH):
            chunk = restored.results[start : start + RECOVERY_RESULTS_PER_BATCH]
            report = self._book(chunk)
            restored.report.refusals.update(report.refusals)
            restored.report.orders.update(report.orders)
        with self._database.transaction() as session:
            undelivered = repository.orders_in_status(session, [OrderStatus.NEW])
            self._reject_undelivered(session, undelivered)
            self._desk.give_back_excess(session, suspects)
            faults.hit(Point.RECOVERY_COMMIT)
        restored.undelivered = {order.id for order in undelivered}
        self._unbooked = []
        self._needs_restore = False
        if restored.results or undelivered:
            log.warning(
                "orders.recovered",
                results_booked=len(restored.results),
                orders_not_delivered=len(undelivered),
            )
        return restored

    def _backlog(self, booked: int) -> list[CommandResult]:
        """The results after `booked`: those still in memory when they follow it without a gap,
        else replayed from the journal."""
        kept = self._unbooked
        if kept and kept[0].sequence == booked + 1 and kept[-1].sequence == self.venue.last_sequence:
            return list(kept)
        return self.venue.results_after(booked)

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
                    reject_message="the order did not reach the market",
                    updated_at=now,
                )
                for order in orders
            ],
        )

    def _settle_or_defer(self) -> bool:
        """Settlement is one transaction: a failure leaves it for the next call, never half done."""
        try:
            self.settle()
        except Exception as error:
            log.error("settlement.failed", exc_info=error)
            return False
        return True


def _not_admitted(error: Exception) -> BackboneError:
    if is_transient(error):
        return VenueUnavailable("the order book's database is busy; nothing was placed, try again")
    return OrderNotProcessed("this request could not be admitted; nothing was written for it")


def _results_by_order(results: list[CommandResult]) -> dict[tuple[type, int], CommandResult]:
    """The last result of each kind of command per order id, among results restored."""
    found: dict[tuple[type, int], CommandResult] = {}
    for result in results:
        order_id = getattr(result.command, "order_id", None)
        if order_id is not None:
            found[(type(result.command), order_id)] = result
    return found


def _answer_restored(
    request: Request,
    admission: Admission,
    order: OrderRecord,
    delivered: dict[tuple[type, int], CommandResult],
    restored: Restored,
) -> Outcome:
    """A request of a batch whose venue or booking stage failed, once the books are restored."""
    if admission.command is None:
        return order  # a retry of an order placed before: nothing went to the market
    result = delivered.get((type(admission.command), admission.order_id))
    if result is not None:
        refusal: OrderError | None = restored.report.refusals.get(result.sequence)
        if refusal is not None:
            refusal.extensions.setdefault("order_id", admission.order_id)
            return refusal
        return order
    if isinstance(request, PlaceRequest):
        return NotDelivered(
            "the market could not take the order: it was not placed and its hold is given back",
            order_id=admission.order_id,
        )
    return VenueUnavailable(
        "the market could not take the request: the order is unchanged", order_id=admission.order_id
    )
