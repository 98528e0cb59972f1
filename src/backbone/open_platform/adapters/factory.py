"""Builds the adapter a platform firm's registration names: `backbone` (this installation's own
brokerage core, in process) or `http` (the firm's own system), each wrapped with retries and a
circuit breaker. Constructed by the composition root, which hands it the brokerage's services."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import httpx
from sqlalchemy.orm import Session

from backbone.brokerage.holdings import Holdings
from backbone.brokerage.service import Brokerage
from backbone.brokerage.watchlists import Watchlists
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.open_platform.adapters.backbone_core import BackboneCore, BackboneCoreFirm
from backbone.open_platform.adapters.http_firm import HttpFirm
from backbone.open_platform.adapters.interface import (
    Capability,
    FirmAdapter,
    FirmBalance,
    FirmRefusal,
    LocalBalanceRequest,
)
from backbone.open_platform.adapters.resilience import (
    FIRM_TIMEOUT_MS,
    CircuitBreaker,
    ResilientFirm,
)

HTTP_CONNECTIONS_MAX = 50


class AdapterFactory:
    def __init__(
        self,
        *,
        clock: Clock,
        database: Database,
        brokerage: Brokerage,
        holdings: Holdings,
        watchlists: Watchlists,
        firm_timeout_ms: int = FIRM_TIMEOUT_MS,
    ) -> None:
        self._clock = clock
        self._database = database
        self._brokerage = brokerage
        self._holdings = holdings
        self._watchlists = watchlists
        self._firm_timeout_ms = firm_timeout_ms
        self._client_lock = threading.Lock()
        self._client: httpx.Client | None = None
        self.core = BackboneCore(database=database, brokerage=brokerage, holdings=holdings)

    def local_firm_codes(self, session: Session) -> set[str]:
        """Firms whose accounts this installation's brokerage core runs (in the caller's
        transaction, which may have just registered them)."""
        return {firm.code for firm in self._brokerage.firms(session)}

    def local_balances(self, requests: Sequence[LocalBalanceRequest]) -> list[FirmBalance | FirmRefusal]:
        return self.core.balances(requests)

    def build(
        self, *, code: str, adapter: str, base_url: str | None, capabilities: frozenset[Capability]
    ) -> ResilientFirm:
        built: FirmAdapter
        if adapter == "backbone":
            built = BackboneCoreFirm(
                firm_code=code,
                core=self.core,
                database=self._database,
                brokerage=self._brokerage,
                holdings=self._holdings,
                watchlists=self._watchlists,
            )
        else:
            built = HttpFirm(
                base_url=base_url or "",
                capabilities=capabilities,
                timeout_ms=self._firm_timeout_ms,
                client=self._http_client(),
            )
        return ResilientFirm(built, breaker=CircuitBreaker(clock=self._clock))

    def _http_client(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    limits=httpx.Limits(max_connections=HTTP_CONNECTIONS_MAX), follow_redirects=False
                )
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
