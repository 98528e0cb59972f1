"""Market reference data over HTTP: the instrument master. Public, like a market's own listing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from backbone.dependencies import service
from backbone.exchange.errors import UnknownInstrument
from backbone.exchange.instruments import Instrument, Market
from backbone.exchange.schemas import InstrumentOut

market_router = APIRouter(prefix="/api/v1/market", tags=["market"])
QUERY_LENGTH_MAX = 40


def _instruments(request: Request) -> dict[str, Instrument]:
    instruments: dict[str, Instrument] = service(request, "instruments")
    return instruments


InstrumentsDep = Annotated[dict[str, Instrument], Depends(_instruments)]


@market_router.get("/instruments", summary="Listed instruments, optionally filtered")
def list_instruments(
    instruments: InstrumentsDep,
    market: Annotated[Market | None, Query()] = None,
    q: Annotated[
        str | None, Query(max_length=QUERY_LENGTH_MAX, description="Part of a code or a name")
    ] = None,
) -> list[InstrumentOut]:
    needle = (q or "").strip().casefold()
    return [
        InstrumentOut.of(item)
        for item in instruments.values()
        if (market is None or item.market is market)
        and (
            not needle
            or needle in item.code
            or needle in item.name_ko.casefold()
            or needle in item.name_en.casefold()
        )
    ]


@market_router.get("/instruments/{code}", summary="One instrument")
def get_instrument(code: str, instruments: InstrumentsDep) -> InstrumentOut:
    instrument = instruments.get(code)
    if instrument is None:
        raise UnknownInstrument(f"no instrument with code {code!r}")
    return InstrumentOut.of(instrument)
