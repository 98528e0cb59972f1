"""Open API v1: a sub-application mounted at /open/v1 with its own OpenAPI 3.1 document
(/open/v1/openapi.json), so that apps (and the schemathesis run in the suite) see exactly it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from backbone.dependencies import DATE_RANGE_DAYS_MAX, InvalidDateRange, instant_range
from backbone.errors import PageSizeOutOfRange
from backbone.exchange.instruments import Instrument, Market
from backbone.exchange.market_data import Interval
from backbone.kit.clock import SEOUL
from backbone.kit.pagination import PAGE_SIZE_MAX
from backbone.middleware import NO_TELEMETRY
from backbone.open_platform import scopes
from backbone.open_platform.adapters.interface import TransactionKind, TransactionQuery
from backbone.open_platform.api.dependencies import (
    BEARER_SECURITY,
    AccountReader,
    ClockDep,
    InstrumentsDep,
    MarketReader,
    PlatformDep,
    RequestIdDep,
    WatchlistReader,
    clock_of,
    instruments_of,
    member_reading,
    request_id_of,
)
from backbone.open_platform.api.dependencies import platform as platform_of
from backbone.open_platform.api.schemas import (
    BalanceOut,
    CandleOut,
    CandlesOut,
    ConsentStateOut,
    FirmOut,
    InstrumentOut,
    IntegratedPortfolioOut,
    LevelOut,
    LinkedAccountOut,
    MembershipOut,
    OrderBookOut,
    PortfolioOut,
    QuoteOut,
    TransactionPageOut,
    WatchlistGroupOut,
    WatchlistInstrumentOut,
    WatchlistOut,
)
from backbone.open_platform.api.shaping import IntegratedShapes, balance_out, portfolio_out, transaction_out
from backbone.open_platform.errors import UnknownInstrument
from backbone.open_platform.firms.domain import AdapterKind
from backbone.open_platform.inquiry import FirmStatus
from backbone.open_platform.reads import shared_reading
from backbone.problems import install_problem_handlers

DESCRIPTION = """
The open platform's API for fintech apps. Authenticate with a bearer access token from
`/oauth/token` (authorization code with PKCE for a member's accounts; client credentials for
market data). Amounts are integer won; quantities and ratios are decimal strings; a missing value
is `null`; sides are `buy` and `sell`. Errors are RFC 9457 problem+json with a stable `code`.
Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (the app's
daily quota; seconds until it resets); 429 answers carry `Retry-After`.
"""
CANDLES_MAX = 1_000
NumberPath = Annotated[
    str,
    Path(
        description="An 18-digit virtual account number",
        min_length=1,
        max_length=40,
        examples=["123456789012345674"],
    ),
]

OPEN_API_PREFIX = "/open/v1"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable, `title` and `detail` are for people",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
    }
    for status, description in (
        (400, "The request is malformed"),
        (401, "No valid access token (oauth.invalid_token)"),
        (403, "Insufficient scope, or a consent that does not hold (platform.consent_*)"),
        (404, "Unknown, or not this app's to read (platform.unknown_virtual_account)"),
        (405, "Method not allowed"),
        (422, "Invalid input (request.invalid, platform.invalid_*, backbone.invalid_*)"),
        (429, "Daily quota or burst limit reached; see Retry-After"),
        (501, "The firm does not offer this (platform.capability_missing)"),
        (503, "The firm did not answer (platform.firm_unavailable)"),
    )
}


def create_open_api() -> FastAPI:
    api = FastAPI(
        telemetry=NO_TELEMETRY,
        title="Backbone open API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        responses=PROBLEMS,
    )
    install_problem_handlers(api)
    _routes(api)
    api.add_middleware(OneReadSession)
    return api


class OneReadSession:
    """Every open API call reads in one read session, opened on first use and closed when the
    answer is sent: the token check, the limits, the linked accounts and the firms' reads share
    it (a pool checkout, a BEGIN and a ROLLBACK per call, not one per step). Plain ASGI: a
    FastAPI dependency with `yield` cost more than the session itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with shared_reading(scope["app"].state.container.database):
            await self.app(scope, receive, send)


def _instrument(instruments: dict[str, Instrument], code: str) -> Instrument:
    found = instruments.get(code)
    if found is None:
        raise UnknownInstrument(f"no instrument {code[:12]!r}")
    return found


def _routes(api: FastAPI) -> None:
    shapes = IntegratedShapes()

    @api.get(
        "/membership", summary="The member's use of this app: status, consents, accounts", tags=["member"]
    )
    def membership(reading: AccountReader, platform: PlatformDep, clock: ClockDep) -> MembershipOut:
        now = clock.now()
        consents = []
        for linked in reading.linked:
            for kind, consent in (
                ("platform_firm", linked.platform_consent),
                ("fintech_firm", linked.fintech_consent),
            ):
                consents.append(
                    ConsentStateOut(
                        kind=kind,
                        firm=linked.firm.code,
                        status="missing" if consent is None else consent.effective_status(now).value,
                        expires_at=None if consent is None else consent.expires_at.astimezone(SEOUL),
                    )
                )
        unique = {(item.kind, item.firm): item for item in consents}
        return MembershipOut(
            subject=reading.membership.subject,
            client_id=reading.app.client_id,
            app_name=reading.app.name,
            status=reading.membership.status.value,
            applied_at=reading.membership.applied_at.astimezone(SEOUL),
            scopes=sorted(scope.value for scope in reading.grant.scopes),
            linked_accounts=len(reading.linked),
            readable_accounts=sum(1 for linked in reading.linked if linked.state(now).value == "ok"),
            consents=list(unique.values()),
        )

    @api.get("/accounts", summary="The virtual accounts the member linked to this app", tags=["accounts"])
    def accounts(reading: AccountReader, platform: PlatformDep, clock: ClockDep) -> list[LinkedAccountOut]:
        now = clock.now()
        found = []
        for linked in reading.linked:
            expiries = [
                c.expires_at for c in (linked.platform_consent, linked.fintech_consent) if c is not None
            ]
            found.append(
                LinkedAccountOut(
                    virtual_account_number=linked.virtual_account.number,
                    firm=FirmOut(
                        code=linked.firm.code, name_ko=linked.firm.name_ko, name_en=linked.firm.name_en
                    ),
                    alias=linked.virtual_account.alias,
                    account_type=linked.virtual_account.account_type,
                    status=FirmStatus(linked.state(now).value),
                    capabilities=sorted(capability.value for capability in linked.firm.capabilities),
                    consent_expires_at=min(expiries).astimezone(SEOUL) if len(expiries) == 2 else None,
                )
            )
        return found

    @api.get(
        "/accounts/{number}/balance",
        summary="잔고: cash, D+1, D+2, withdrawable, positions",
        tags=["accounts"],
    )
    def balance(
        number: NumberPath,
        reading: AccountReader,
        platform: PlatformDep,
        clock: ClockDep,
        instruments: InstrumentsDep,
        request_id: RequestIdDep,
    ) -> BalanceOut:
        linked, found = platform.inquiry.balance(reading, number, request_id)
        return balance_out(linked, found, instruments, clock.now())

    @api.get(
        "/accounts/{number}/transactions",
        summary="거래내역, newest first, a page at a time",
        tags=["accounts"],
    )
    def transactions(
        number: NumberPath,
        reading: AccountReader,
        platform: PlatformDep,
        request_id: RequestIdDep,
        since: Annotated[
            date | None, Query(alias="from", description="First Korean calendar day, inclusive")
        ] = None,
        until: Annotated[
            date | None, Query(alias="to", description="Last Korean calendar day, inclusive")
        ] = None,
        kind: Annotated[list[TransactionKind] | None, Query(description="Only these kinds")] = None,
        cursor: Annotated[
            str | None, Query(max_length=512, description="next_cursor of the previous page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX, description="Items per page")] = 50,
    ) -> TransactionPageOut:
        start, end = _range(since, until)
        if not 1 <= limit <= PAGE_SIZE_MAX:
            raise PageSizeOutOfRange(f"a page holds between 1 and {PAGE_SIZE_MAX} items")
        query = TransactionQuery(
            since=start, until=end, kinds=None if not kind else tuple(kind), cursor=cursor, limit=limit
        )
        linked, page = platform.inquiry.transactions(reading, number, query, request_id)
        return TransactionPageOut(
            virtual_account_number=linked.virtual_account.number,
            firm_code=linked.firm.code,
            items=[transaction_out(line) for line in page.items],
            next_cursor=page.next_cursor,
        )

    @api.get("/accounts/{number}/portfolio", summary="자산 구성: amounts and ratios", tags=["accounts"])
    def portfolio(
        number: NumberPath,
        reading: AccountReader,
        platform: PlatformDep,
        clock: ClockDep,
        instruments: InstrumentsDep,
        request_id: RequestIdDep,
    ) -> PortfolioOut:
        linked, found = platform.inquiry.portfolio(reading, number, request_id)
        return portfolio_out(linked, found, instruments, clock.now())

    @api.get("/accounts/{number}/watchlist", summary="관심종목 at the account's firm", tags=["accounts"])
    def watchlist(
        number: NumberPath,
        reading: WatchlistReader,
        platform: PlatformDep,
        instruments: InstrumentsDep,
        request_id: RequestIdDep,
    ) -> WatchlistOut:
        linked, groups = platform.inquiry.watchlist(reading, number, request_id)
        return WatchlistOut(
            virtual_account_number=linked.virtual_account.number,
            firm_code=linked.firm.code,
            groups=[
                WatchlistGroupOut(
                    name=group.name,
                    instruments=[
                        WatchlistInstrumentOut(
                            code=code,
                            name_ko=instruments[code].name_ko if code in instruments else None,
                            name_en=instruments[code].name_en if code in instruments else None,
                        )
                        for code in group.instruments
                    ],
                )
                for group in groups
            ],
        )

    @api.get(
        "/portfolio",
        summary="통합계좌조회: every linked account, with a status per firm",
        tags=["accounts"],
        response_model=IntegratedPortfolioOut,
        openapi_extra=BEARER_SECURITY,
    )
    async def integrated(request: Request) -> Response:
        # No dependencies declared: FastAPI's resolution of them cost more than what they do,
        # and this is the open API's busiest call. The services are looked up here.
        headers: dict[str, str] = {}
        reading = member_reading(request, scopes.Scope.ACCOUNT_READ, headers)
        platform, clock = platform_of(request), clock_of(request)
        instruments, request_id = instruments_of(request), request_id_of(request)

        # This installation's firms answer from local reads, on the event loop (a thread hop
        # cost more than the reads); a call that waits on another firm's server goes to a thread.
        def answer() -> bytes:
            answered = platform.inquiry.integrated(reading, request_id)
            return shapes.json(
                (reading.membership.member_id, reading.app.id), answered, instruments, clock.now()
            )

        if all(linked.firm.adapter is AdapterKind.BACKBONE for linked in reading.linked):
            body = answer()
        else:
            body = await run_in_threadpool(answer)
        return Response(body, media_type="application/json", headers=headers)

    # --- market data (app-level: client credentials) ---------------------------------------------

    @api.get("/market/instruments", summary="Listed instruments", tags=["market"])
    def instruments_list(
        _grant: MarketReader,
        instruments: InstrumentsDep,
        market: Annotated[Market | None, Query()] = None,
        q: Annotated[str | None, Query(max_length=40, description="Part of a code or name")] = None,
    ) -> list[InstrumentOut]:
        needle = (q or "").strip().casefold()
        return [
            _instrument_out(item)
            for item in instruments.values()
            if (market is None or item.market is market)
            and (
                not needle
                or needle in item.code
                or needle in item.name_ko.casefold()
                or needle in item.name_en.casefold()
            )
        ]

    @api.get("/market/instruments/{code}", summary="One instrument", tags=["market"])
    def instrument(
        code: Annotated[str, Path(max_length=12)], _grant: MarketReader, instruments: InstrumentsDep
    ) -> InstrumentOut:
        return _instrument_out(_instrument(instruments, code))

    @api.get("/market/instruments/{code}/quote", summary="현재가 and best bid and ask", tags=["market"])
    def quote(
        code: Annotated[str, Path(max_length=12)],
        _grant: MarketReader,
        platform: PlatformDep,
        instruments: InstrumentsDep,
    ) -> QuoteOut:
        found = platform.market.quote(_instrument(instruments, code))
        return QuoteOut(
            instrument=found.instrument,
            last_price_won=found.last_price_won,
            base_price_won=found.base_price_won,
            bid_price_won=found.bid_price_won,
            bid_quantity=found.bid_quantity,
            ask_price_won=found.ask_price_won,
            ask_quantity=found.ask_quantity,
            phase=found.phase,
            trading_day=found.trading_day,
            sequence=found.sequence,
        )

    @api.get(
        "/market/instruments/{code}/orderbook", summary="10단계 호가: ten levels a side", tags=["market"]
    )
    def order_book(
        code: Annotated[str, Path(max_length=12)],
        _grant: MarketReader,
        platform: PlatformDep,
        instruments: InstrumentsDep,
    ) -> OrderBookOut:
        found = platform.market.depth(_instrument(instruments, code))
        return OrderBookOut(
            instrument=found.instrument,
            bids=[LevelOut(price_won=p, quantity=q, orders=o) for p, q, o in found.bids],
            asks=[LevelOut(price_won=p, quantity=q, orders=o) for p, q, o in found.asks],
            sequence=found.sequence,
        )

    @api.get("/market/instruments/{code}/candles", summary="OHLCV candles, oldest first", tags=["market"])
    def candles(
        code: Annotated[str, Path(max_length=12)],
        _grant: MarketReader,
        platform: PlatformDep,
        instruments: InstrumentsDep,
        interval: Annotated[Interval, Query()] = Interval.DAY,
        limit: Annotated[int, Query(ge=1, le=CANDLES_MAX)] = 100,
    ) -> CandlesOut:
        found = platform.market.candles(_instrument(instruments, code), interval, limit)
        return CandlesOut(
            instrument=code,
            interval=interval.value,
            candles=[
                CandleOut(
                    start=datetime.fromtimestamp(bar.start_ns // 1_000_000_000, tz=UTC).astimezone(SEOUL),
                    open_won=bar.open,
                    high_won=bar.high,
                    low_won=bar.low,
                    close_won=bar.close,
                    volume=bar.volume,
                    value_won=bar.value_won,
                )
                for bar in found
            ],
        )


def _range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    if since is not None and until is not None and (until - since).days > DATE_RANGE_DAYS_MAX:
        raise InvalidDateRange(f"a range spans at most {DATE_RANGE_DAYS_MAX} days")
    return instant_range(since, until)


def _instrument_out(item: Instrument) -> InstrumentOut:
    lower, upper = item.price_limits
    return InstrumentOut(
        code=item.code,
        isin=item.isin,
        name_ko=item.name_ko,
        name_en=item.name_en,
        market=item.market.value,
        sector=item.sector,
        base_price_won=item.base_price,
        price_limit_lower_won=lower,
        price_limit_upper_won=upper,
    )


__all__: list[Any] = ["OPEN_API_PREFIX", "create_open_api"]
