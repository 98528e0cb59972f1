"""The order desk: admits orders (checks and reserves, in one transaction) and turns the venue's
published results into the brokerage's books (in another). Services never commit; the pipeline's
stage boundaries do.

Admission (`admission.Admitter`), a batch at a time:
- place:  the account is active; the ticket passes the venue-independent checks; a buy holds its
          worst-case cost, a sale holds its shares; the order is written as `new`; the venue
          command is returned for the pipeline to submit. A key already used is a retry.
- cancel: the order is the account's and open; the venue command is returned.
- modify: as cancel, and an order whose worst case grows holds the difference first.
A refusal is that request's outcome and writes nothing for it.

Booking (`booking.Booker`), per published result, in sequence order, exactly once (the venue
cursor and the (trade id, side) uniqueness make a replay harmless): the order's status follows
the venue's events through the transition table; fills draw on the order's holds and post the
legs of `domain.Fill`; a finished order gives back whatever it still holds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy.orm import Session

from backbone.brokerage.domain import Account
from backbone.brokerage.fees import FeeSchedule
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.admission import Admitter
from backbone.brokerage.trading.booking import Booker, BookingReport, orders_named
from backbone.brokerage.trading.domain import OrderRecord
from backbone.brokerage.trading.requests import (
    Admission,
    CancelRequest,
    ModifyRequest,
    PlaceRequest,
    Request,
)
from backbone.brokerage.trading.venue import Venue
from backbone.errors import BackboneError
from backbone.exchange.calendar import TradingCalendar
from backbone.exchange.messages import CommandResult
from backbone.kit.check import InvariantViolation
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.ledger.service import Ledger

__all__ = ["Admission", "CancelRequest", "ModifyRequest", "OrderDesk", "PlaceRequest", "Request"]


class BookingGap(InvariantViolation):
    """Results offered for booking do not follow the booked cursor."""


class BookingFailed(InvariantViolation):
    """A venue result the brokerage's books cannot take: names the sequence, the command and the
    orders, so that `backbone orders check` and `backbone orders reconcile` can be pointed at it."""

    def __init__(self, result: CommandResult, error: Exception) -> None:
        command = result.command
        order_id = getattr(command, "order_id", None)
        about = f" for order {order_id}" if order_id is not None else ""
        super().__init__(
            f"venue sequence {result.sequence} ({type(command).__name__}{about}) cannot be booked: {error}"
        )
        self.sequence = result.sequence


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

    def admit_many(self, session: Session, requests: Sequence[Request]) -> list[Admission | BackboneError]:
        """Admit a batch: each request's admission, or the typed error that refused it alone."""
        admitter = Admitter(
            session=session,
            ledger=self.ledger,
            venue=self.venue,
            ids=self._ids,
            clock=self._clock,
            fees=self._fees,
        )
        return admitter.admit(requests)

    def admit(self, session: Session, request: Request) -> Admission:
        outcome = self.admit_many(session, [request])[0]
        if isinstance(outcome, BackboneError):
            raise outcome
        return outcome

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
        # The cursor moves only over results booked: a gap means a batch before these was not.
        if fresh[0].sequence != booked + 1:
            raise BookingGap(
                f"results from venue sequence {fresh[0].sequence} cannot be booked: "
                f"the brokerage has booked up to {booked}, so {booked + 1}..{fresh[0].sequence - 1} "
                "must be booked first (from the venue's journal)"
            )
        self._apply(session, fresh, repository.orders_by_ids(session, orders_named(fresh)), report)
        report.last_sequence = fresh[-1].sequence
        repository.save_booked_sequence(session, venue_name, report.last_sequence, self._clock.now())
        return report

    def book_orders(
        self, session: Session, results: Sequence[CommandResult], *, order_ids: Collection[int]
    ) -> BookingReport:
        """Book the results' effects on these orders alone, wherever the cursor is, and leave the
        cursor alone: how reconciliation books results the cursor moved past without booking.
        The caller passes only results none of these orders has been booked for yet (their
        statuses would move twice); a fill already booked is skipped by its (trade id, side)."""
        report = BookingReport()
        if results:
            orders = repository.orders_by_ids(session, set(order_ids) & orders_named(results))
            self._apply(session, results, orders, report)
            report.last_sequence = results[-1].sequence
        return report

    def move_cursor(self, session: Session, *, venue_name: str, sequence: int) -> None:
        """Set the booked cursor (reconciliation, once every result up to `sequence` is booked)."""
        repository.save_booked_sequence(session, venue_name, sequence, self._clock.now())

    def _apply(
        self,
        session: Session,
        results: Sequence[CommandResult],
        orders: dict[int, OrderRecord],
        report: BookingReport,
    ) -> None:
        """Book the results for `orders` (every other order they name is skipped)."""
        booker = self._booker(session, orders, results)
        for result in results:
            try:
                booker.apply(result, report)
            except (InvariantViolation, ValueError) as error:
                raise BookingFailed(result, error) from error
        booker.finish()
        repository.update_orders(session, booker.changed())
        report.orders = {order.id: order for order in booker.changed()}

    def give_back_excess(self, session: Session, order_ids: Sequence[int]) -> None:
        """Open orders among `order_ids` give back what they hold beyond their open quantity's
        worst case (a modification that held more but never reached the market)."""
        orders = {
            order.id: order
            for order in repository.orders_by_ids(session, order_ids).values()
            if not order.is_finished
        }
        if not orders:
            return
        booker = self._booker(session, orders, [])
        booker.give_back_excess(self._ids.next())
        booker.finish()

    def _booker(
        self, session: Session, orders: dict[int, OrderRecord], results: Sequence[CommandResult]
    ) -> Booker:
        return Booker(
            session=session,
            ledger=self.ledger,
            ids=self._ids,
            clock=self._clock,
            calendar=self._calendar,
            fees=self._fees,
            orders=orders,
            results=results,
        )
