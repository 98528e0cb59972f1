"""Typed refusals of orders, and the order chain's refusals to start. Each code is stable; each
order refusal's message is written for the investor, each refusal to start for the operator."""

from __future__ import annotations

from pathlib import Path

from backbone.errors import BackboneError


class OrderError(BackboneError):
    code = "order.error"
    title = "The order was refused"


class QuantityNotPositive(OrderError):
    status_code = 422
    code = "order.quantity_not_positive"
    title = "The quantity must be at least one share"


class QuantityAboveMaximum(OrderError):
    status_code = 422
    code = "order.quantity_above_maximum"
    title = "The quantity is above the maximum for one order"


class OrderValueTooLarge(OrderError):
    status_code = 422
    code = "order.value_above_maximum"
    title = "The order's value is above the maximum for one order"


class PriceRequired(OrderError):
    status_code = 422
    code = "order.price_required"
    title = "A limit order needs a price"


class PriceWithMarketOrder(OrderError):
    status_code = 422
    code = "order.price_with_market_order"
    title = "A market order carries no price"


class PriceOffTick(OrderError):
    """Prices move in steps that depend on the price (KRX 호가가격단위)."""

    status_code = 422
    code = "order.price_off_tick"
    title = "The price is not on the price grid"


class PriceOutsideLimits(OrderError):
    """A day's prices stay within 30% of the base price (가격제한폭)."""

    status_code = 422
    code = "order.price_outside_limits"
    title = "The price is outside today's limits"


class MarketClosed(OrderError):
    status_code = 409
    code = "order.market_closed"
    title = "The market is closed"


class NotAllowedInAuction(OrderError):
    status_code = 409
    code = "order.not_allowed_in_auction"
    title = "Only day limit orders are taken during a call auction"


class InsufficientBuyingPower(OrderError):
    """A buy reserves its value at its worst price plus commission from cash not already held."""

    status_code = 409
    code = "order.insufficient_buying_power"
    title = "Not enough cash to buy"


class InsufficientShares(OrderError):
    """Backbone does not allow short selling: a sale needs the shares in the account."""

    status_code = 409
    code = "order.insufficient_shares"
    title = "Not enough shares to sell"


class TooManyOpenOrders(OrderError):
    status_code = 409
    code = "order.too_many_open_orders"
    title = "The account has too many open orders"


class UnknownOrder(OrderError):
    status_code = 404
    code = "order.unknown"
    title = "Unknown order"


class OrderNotOpen(OrderError):
    """The order has already been filled, cancelled, rejected or has expired."""

    status_code = 409
    code = "order.not_open"
    title = "The order is no longer open"


class NothingToModify(OrderError):
    status_code = 422
    code = "order.nothing_to_modify"
    title = "The modification changes nothing"


class ClientOrderKeyReused(OrderError):
    status_code = 422
    code = "order.client_order_key_reused"
    title = "The order key was used for a different order"


class VenueRejected(OrderError):
    """The venue refused the order after it was reserved; the reservation has been released."""

    status_code = 409
    code = "order.rejected_by_venue"
    title = "The market refused the order"


class NoLiquidity(VenueRejected):
    code = "order.no_liquidity"
    title = "There is nothing on the other side to trade with"


class FillOrKillNotFillable(VenueRejected):
    code = "order.fok_not_fillable"
    title = "The fill-or-kill order could not be filled at once in full"


class VenueUnavailable(OrderError):
    status_code = 503
    code = "order.venue_unavailable"
    title = "The market cannot take orders right now"


RETRY_AFTER_S = 2  # what a 503 from the order pipeline asks a client to wait


class OrdersPaused(VenueUnavailable):
    """The pipeline could not book what the market already executed; it takes no new order until
    the brokerage's books have caught up with the market's journal (it keeps trying)."""

    code = "order.orders_paused"
    title = "Orders are paused while the brokerage catches up with the market"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_S)})


class OutcomePending(VenueUnavailable):
    """The market may have the order, but its outcome is not booked yet: read the order by its id
    (or retry with the same Idempotency-Key, which never places it twice)."""

    code = "order.outcome_pending"
    title = "The order's outcome is not booked yet"

    def __init__(self, detail: str, *, order_id: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_S)}, order_id=order_id)


class NotDelivered(OrderError):
    """The order was reserved but did not reach the market (the process stopped, or the market's
    journal could not take it); it is rejected and its hold given back."""

    status_code = 503
    code = "order.not_delivered"
    title = "The order did not reach the market"

    def __init__(self, detail: str, **extensions: object) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_S)}, **extensions)


class RecoveryFailed(OrderError):
    """At start: a result in the venue's journal the brokerage's books cannot take (they were
    changed outside the order chain). The process does not start on a state it cannot vouch for."""

    status_code = 503
    code = "trading.recovery_failed"
    title = "The brokerage's books cannot take the market's journal"

    def __init__(self, detail: str, *, sequence: int) -> None:
        super().__init__(
            f"{detail}; `backbone orders check` lists every difference with the venue, "
            "`backbone orders reconcile` repairs what the journal can",
            sequence=sequence,
        )


class OrderNotProcessed(OrderError):
    """A fault while admitting this request alone (the rest of its batch went on): nothing was
    written for it."""

    status_code = 500
    code = "order.not_processed"
    title = "The order could not be processed; nothing was changed"


class JournalRefused(BackboneError):
    """The brokerage will not book from the venue's journal it found: trading does not start."""

    status_code = 503
    code = "trading.journal_refused"
    title = "Trading cannot start on this journal"

    def __init__(self, directory: Path, problem: str) -> None:
        super().__init__(f"{directory}: {problem}", directory=str(directory))
        self.directory = directory


class JournalMismatch(JournalRefused):
    """The journal is not the one this database books from: another installation's, or a new one
    in place of this installation's. A database that has booked nothing and names no journal
    refuses one that already holds commands too: they were booked elsewhere, or never."""

    code = "trading.journal_mismatch"
    title = "The journal is not the one this database books from"

    def __init__(
        self, directory: Path, *, journal_identity: str, booked_identity: str | None, journal_sequence: int
    ) -> None:
        if booked_identity is None:
            books = (
                f"it holds sequences up to {journal_sequence} but this database has booked none of them "
                "(move it aside to start this installation on a new journal)"
            )
        else:
            books = f"this database books from journal {booked_identity}"
        super().__init__(
            directory,
            f"this journal belongs to another installation: its identity is {journal_identity}; {books}",
        )
        self.journal_identity = journal_identity
        self.booked_identity = booked_identity


class JournalBehindBooks(JournalRefused):
    """The database has booked results past the journal's end: the journal is an older copy, or
    its tail was cut. Starting would number new commands with sequences already booked."""

    code = "trading.journal_behind_books"
    title = "The journal is older than the books"

    def __init__(
        self, directory: Path, *, last_segment: Path, journal_sequence: int, booked_sequence: int
    ) -> None:
        super().__init__(
            directory,
            f"the journal ends at sequence {journal_sequence} (last segment {last_segment.name}) but the "
            f"database has booked up to sequence {booked_sequence}: an older copy of the journal, or its "
            "tail was cut",
        )
        self.last_segment = last_segment
        self.journal_sequence = journal_sequence
        self.booked_sequence = booked_sequence
