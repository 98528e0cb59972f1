"""Typed refusals of the market's HTTP surface. (The matching engine itself never raises on a
business reject: it returns a result with a reason code.)"""

from __future__ import annotations

from backbone.errors import BackboneError


class UnknownInstrument(BackboneError):
    status_code = 404
    code = "market.unknown_instrument"
    title = "Unknown instrument"
