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
  seen, so nothing is booked twice). Then the cursor moves to the journal's end, and back from
  beyond it. When an order cannot be repaired, every order is booked and the cursor moved only up
  to just before that order's first unbooked result: never past work left undone (STYLE rule 14),
  and so that the next start's recovery books the rest for everyone exactly once;
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

Modules: `venue_view` (the replay and each order's story), `check` (the comparison), `repair`
(the bookings), `report` (the codes, actions and reports).
"""

from __future__ import annotations

from backbone.brokerage.trading.reconciliation.check import check_orders
from backbone.brokerage.trading.reconciliation.repair import reconcile_orders
from backbone.brokerage.trading.reconciliation.report import (
    ACTIONS,
    CODES,
    Difference,
    Irreparable,
    OrdersCheckReport,
    ReconcileReport,
)
from backbone.brokerage.trading.reconciliation.venue_view import VenueOrder, VenueView, read_venue

__all__ = [
    "ACTIONS",
    "CODES",
    "Difference",
    "Irreparable",
    "OrdersCheckReport",
    "ReconcileReport",
    "VenueOrder",
    "VenueView",
    "check_orders",
    "read_venue",
    "reconcile_orders",
]
