"""What customers ask of the order desk, and what admission answers: frozen messages."""

from __future__ import annotations

from dataclasses import dataclass

from backbone.brokerage.trading.domain import OrderTicket
from backbone.exchange.messages import Command

# `person` is the requester's personal identifier when an investor asks over the API: admission
# refuses an account whose customer does not carry it. None: the firm itself asks (the back
# office, the demo, tests).


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    account_id: int
    client_order_key: str
    ticket: OrderTicket
    person: str | None = None


@dataclass(frozen=True, slots=True)
class CancelRequest:
    account_id: int
    order_id: int
    person: str | None = None


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    account_id: int
    order_id: int
    price: int | None  # the new limit price; None keeps it
    quantity: int | None  # the new open quantity; None keeps it
    person: str | None = None


Request = PlaceRequest | CancelRequest | ModifyRequest


@dataclass(frozen=True, slots=True)
class Admission:
    """A request the desk accepted: its order, and the command for the venue (None when the
    request was a retry of an order already placed)."""

    order_id: int
    command: Command | None
