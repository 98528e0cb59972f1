"""What a check and a repair report: each difference with its stable code, and for each one a
repair leaves, what the operator must do."""

from __future__ import annotations

from dataclasses import dataclass, field

DIFFERENCES_KEPT_MAX = 1_000

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
    "cursor.behind_journal": (
        "an order's results after the cursor cannot be booked (see its differences); the server "
        "cannot start until it is repaired"
    ),
    "cursor.ahead_of_journal": (
        "the journal lacks results the brokerage booked: restore the journal from a backup, and "
        "do not start the server on this one"
    ),
}


@dataclass(frozen=True)
class Difference:
    code: str  # stable: a key of CODES
    order_id: int | None
    sequence: int | None  # the venue's last change of the order, or the booked cursor
    expected: str  # the venue's view
    found: str  # the brokerage's view

    @property
    def message(self) -> str:
        if self.code.startswith("cursor."):
            subject = "the cursor"
        else:
            subject = "an unknown order" if self.order_id is None else f"order {self.order_id}"
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
    results_booked: int = 0  # (result, group of orders) bookings
    irreparable: list[Irreparable] = field(default_factory=list)
    after: OrdersCheckReport | None = None  # None on a dry run
    notes: dict[int, str] = field(default_factory=dict)  # order id: an action more precise than ACTIONS

    @property
    def ok(self) -> bool:
        return not self.irreparable
