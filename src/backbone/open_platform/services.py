"""The open platform's services, gathered for the composition root (as `Identity` is)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backbone.exchange.instruments import Instrument
from backbone.identity.service import Identity
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.kit.ids import IdGenerator
from backbone.open_platform.audit.service import ReadAudit, spool_directory
from backbone.open_platform.companies.service import Companies
from backbone.open_platform.firms.service import AdapterBuilder, FirmDirectory
from backbone.open_platform.inquiry import Inquiry
from backbone.open_platform.journey.service import Journey
from backbone.open_platform.limits.service import RateLimiter, limits_path
from backbone.open_platform.market import MarketDataSource, VenueMarketData
from backbone.open_platform.oauth.keys import SigningKeys
from backbone.open_platform.oauth.service import OAuth
from backbone.open_platform.webhooks.service import Webhooks


@dataclass(frozen=True, slots=True)
class OpenPlatform:
    companies: Companies
    firms: FirmDirectory
    journey: Journey
    oauth: OAuth
    inquiry: Inquiry
    webhooks: Webhooks
    limits: RateLimiter
    audit: ReadAudit
    market: MarketDataSource

    def close(self) -> None:
        self.audit.close()
        self.limits.close()
        self.inquiry.close()
        self.webhooks.close()


def build_open_platform(
    *,
    clock: Clock,
    ids: IdGenerator,
    database: Database,
    identity: Identity,
    adapters: AdapterBuilder,
    instruments: dict[str, Instrument],
    issuer: str,
    var_directory: Path,
    node: int = 0,
) -> OpenPlatform:
    companies = Companies(clock=clock, ids=ids)
    firms = FirmDirectory(clock=clock, ids=ids, adapters=adapters)
    webhooks = Webhooks(clock=clock, ids=ids)
    journey = Journey(clock=clock, ids=ids, identity=identity, companies=companies, webhooks=webhooks)
    oauth = OAuth(
        issuer=issuer,
        clock=clock,
        ids=ids,
        keys=SigningKeys.generated_once(var_directory),
        companies=companies,
        journey=journey,
    )
    audit = ReadAudit(database=database, spool_directory=spool_directory(var_directory, node))
    return OpenPlatform(
        companies=companies,
        firms=firms,
        journey=journey,
        oauth=oauth,
        inquiry=Inquiry(
            clock=clock,
            ids=ids,
            database=database,
            journey=journey,
            firms=firms,
            audit=audit,
            identity=identity,
        ),
        webhooks=webhooks,
        limits=RateLimiter(clock=clock, path=limits_path(var_directory)),
        audit=audit,
        market=VenueMarketData(),
    )
