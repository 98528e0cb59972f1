"""The composition root: the one place where settings become a database, a clock, ids and services.

Tests build a container with a simulated clock and a throw-away database; `backbone serve` builds
one from the environment. Nothing else constructs engines or reads settings.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from backbone.brokerage.holdings import Holdings, PriceBoard
from backbone.brokerage.service import Brokerage
from backbone.brokerage.trading.desk import OrderDesk
from backbone.brokerage.trading.journal_binding import bind_journal
from backbone.brokerage.trading.pipeline import RETRY_DELAYS_MS, OrderPipeline
from backbone.brokerage.trading.settlement import Settler
from backbone.brokerage.trading.venue import Venue
from backbone.brokerage.watchlists import Watchlists
from backbone.config import Settings
from backbone.demo.market import demo_clock
from backbone.exchange.calendar import krx_calendar
from backbone.exchange.instruments import Instrument, load_instruments
from backbone.exchange.journal import FsyncPolicy
from backbone.exchange.last_prices import LastPricePublisher, LastPriceReader, LastPriceWriter, board_path
from backbone.exchange.repository import upsert_instruments
from backbone.exchange.schedule import SessionSchedule
from backbone.identity.adapters import development_adapters
from backbone.identity.service import Identity, build_identity
from backbone.identity.service.passkeys import WebauthnConfig
from backbone.kit.clock import Clock, SimulatedClock, SystemClock
from backbone.kit.db import Database, make_engine
from backbone.kit.ids import IdGenerator
from backbone.ledger.domain import CASH
from backbone.ledger.service import Ledger
from backbone.open_platform.adapters.factory import AdapterFactory
from backbone.open_platform.services import OpenPlatform, build_open_platform
from backbone.quotes.feed import QuoteFeed
from backbone.quotes.hub import QuoteHub


@dataclass
class Container:
    settings: Settings
    clock: Clock
    ids: IdGenerator
    database: Database
    ledger: Ledger
    brokerage: Brokerage
    holdings: Holdings
    watchlists: Watchlists
    identity: Identity
    operator_token: str
    instruments: dict[str, Instrument]
    open_platform: OpenPlatform
    firm_adapters: AdapterFactory
    quotes: QuoteHub
    trading: Trading | None = None  # opened by the one process that runs the market

    def close(self) -> None:
        self.open_platform.close()
        self.firm_adapters.close()
        self.database.dispose()


OPERATOR_TOKEN_FILE = "operator-token"  # noqa: S105 - a file name, not a secret
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name, not a secret
EXCHANGE_DIRECTORY = "exchange"  # under var/: the venue's journal and the last-price board


def _generated_once(settings: Settings, file_name: str) -> str:
    """A random value generated on first need and kept under var/, readable by its owner only, so
    that a developer can find it and a restart keeps it."""
    path = settings.var_directory / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def resolve_operator_token(settings: Settings) -> str:
    """The back-office bearer token: from the settings, or generated once under var/."""
    if settings.operator_token is not None:
        return settings.operator_token.get_secret_value()
    return _generated_once(settings, OPERATOR_TOKEN_FILE)


def resolve_secret_key(settings: Settings) -> bytes:
    """The installation's secret key (BACKBONE_SECRET_KEY), or one generated once under var/."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return _generated_once(settings, SECRET_KEY_FILE).encode()


@dataclass
class Trading:
    """The order chain running in this process: the venue and the pipeline that owns it."""

    venue: Venue
    desk: OrderDesk
    settler: Settler
    pipeline: OrderPipeline
    prices: LastPriceWriter

    def close(self) -> None:
        self.pipeline.stop()
        self.venue.close()
        self.prices.close()


def journal_directory_of(settings: Settings) -> Path:
    """Where the installation's venue keeps its journal."""
    return settings.var_directory / EXCHANGE_DIRECTORY


def base_prices_of(container: Container) -> dict[str, int]:
    """Each instrument's base price from the master: where a replay of the journal starts."""
    return {code: item.base_price for code, item in container.instruments.items()}


def open_venue(container: Container, *, journal_directory: Path | None = None) -> Venue:
    """Open the venue's journal (recovering the books); `JournalInUse` while another process has it."""
    settings = container.settings
    return Venue(
        journal_directory=journal_directory or journal_directory_of(settings),
        base_prices=base_prices_of(container),
        clock=container.clock,
        policy=FsyncPolicy(settings.journal_fsync),
    )


def order_desk(container: Container, venue: Venue) -> OrderDesk:
    return OrderDesk(
        clock=container.clock,
        ids=container.ids,
        ledger=container.ledger,
        venue=venue,
        calendar=krx_calendar(),
        tax_ppm=container.settings.securities_tax_ppm,
    )


def open_trading(
    container: Container,
    *,
    journal_directory: Path | None = None,
    retry_delays_ms: Sequence[int] = RETRY_DELAYS_MS,
) -> Trading:
    """Open the venue's journal (recovering the books), wire the order pipeline to it, and book
    whatever an earlier process published but did not book. One process at a time may do this.
    Refuses (closing the venue) a journal the database does not book from, or one that ends
    before what it has booked."""
    venue = open_venue(container, journal_directory=journal_directory)
    desk = order_desk(container, venue)
    settler = Settler(ledger=container.ledger, clock=container.clock)
    pipeline = OrderPipeline(
        database=container.database,
        desk=desk,
        venue=venue,
        settler=settler,
        clock=container.clock,
        retry_delays_ms=retry_delays_ms,
    )
    container.holdings.prices.source = venue.last_price
    bind_journal(container.database, venue, clock=container.clock)  # JournalMismatch, JournalBehindBooks
    try:
        pipeline.recover()  # RecoveryFailed on a result the books cannot take
    except BaseException:
        venue.close()
        raise
    # Every other process of the installation (the open API's workers) values at these prices.
    prices = LastPricePublisher(
        LastPriceWriter(board_path(venue.journal_directory), venue.base_prices),
        venue.last_price,
        venue.base_prices,
    )
    prices.publish_all()
    pipeline.add_listener(prices)
    feed = QuoteFeed(container.quotes)
    feed.seed(phase=venue.phase, trading_day=venue.trading_day_code, books=venue.book_levels())
    pipeline.add_listener(feed)
    return Trading(venue=venue, desk=desk, settler=settler, pipeline=pipeline, prices=prices.writer)


def sync_reference_data(session: Session, container: Container) -> int:
    """Bring the instrument table and the ledger's assets in line with the shipped master."""
    instruments = container.instruments.values()
    upsert_instruments(session, instruments)
    assets = [(CASH, "cash", "Korean won"), *((item.code, "security", item.name_en) for item in instruments)]
    return container.ledger.register_assets(session, assets)


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Container:
    settings = settings or Settings()
    if clock is None:
        start = settings.simulated_clock_start
        if start is not None:
            clock = SimulatedClock(start)
        elif settings.demo_market:
            clock = demo_clock(settings.var_directory, SessionSchedule(holidays=krx_calendar().holidays))
        else:
            clock = SystemClock()
    engine = make_engine(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.database_pool_size,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    ids = IdGenerator(clock, node=settings.node_id)
    ledger = Ledger(clock=clock, ids=ids)
    instruments = load_instruments()
    prices = PriceBoard(
        {code: item.base_price for code, item in instruments.items()},
        LastPriceReader(board_path(settings.var_directory / EXCHANGE_DIRECTORY)),
    )
    database = Database(engine)
    brokerage = Brokerage(clock=clock, ids=ids, ledger=ledger)
    holdings = Holdings(ledger=ledger, clock=clock, calendar=krx_calendar(), prices=prices)
    watchlists = Watchlists(clock=clock, ids=ids)
    identity = build_identity(
        clock=clock,
        ids=ids,
        adapters=development_adapters(clock=clock, ids=ids),
        secret_key=resolve_secret_key(settings),
        webauthn=WebauthnConfig(
            rp_id=settings.webauthn_rp_id,
            rp_name=settings.webauthn_rp_name,
            origins=tuple(settings.webauthn_origins),
        ),
    )
    # The open platform reaches this installation's firms through an in-process adapter over the
    # brokerage's own services, and other firms over HTTP; only the adapters import the brokerage.
    firm_adapters = AdapterFactory(
        clock=clock,
        database=database,
        brokerage=brokerage,
        holdings=holdings,
        watchlists=watchlists,
        firm_timeout_ms=settings.platform_firm_timeout_ms,
    )
    return Container(
        settings=settings,
        clock=clock,
        ids=ids,
        database=database,
        ledger=ledger,
        brokerage=brokerage,
        holdings=holdings,
        watchlists=watchlists,
        instruments=instruments,
        identity=identity,
        operator_token=resolve_operator_token(settings),
        firm_adapters=firm_adapters,
        quotes=QuoteHub(instruments),
        open_platform=build_open_platform(
            clock=clock,
            ids=ids,
            database=database,
            identity=identity,
            adapters=firm_adapters,
            instruments=instruments,
            issuer=settings.public_url.rstrip("/"),
            var_directory=settings.var_directory,
            node=settings.node_id,
        ),
    )
