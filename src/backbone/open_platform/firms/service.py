"""The platform's firms: registration (by the operator) and the adapter that reaches each."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.open_platform.adapters.interface import (
    Capability,
    FirmAdapter,
    FirmBalance,
    FirmRefusal,
    LocalBalanceRequest,
)
from backbone.open_platform.audit.repository import record_change
from backbone.open_platform.errors import FirmExists, InvalidFirm, UnknownFirm
from backbone.open_platform.firms import repository
from backbone.open_platform.firms.domain import AdapterKind, PlatformFirm

FIRM_CODE_LENGTH_MAX = 8


class AdapterBuilder(Protocol):
    def local_firm_codes(self, session: Session) -> set[str]: ...

    def build(
        self, *, code: str, adapter: str, base_url: str | None, capabilities: frozenset[Capability]
    ) -> FirmAdapter: ...

    def local_balances(self, requests: Sequence[LocalBalanceRequest]) -> list[FirmBalance | FirmRefusal]: ...


class FirmDirectory:
    def __init__(self, *, clock: Clock, ids: IdGenerator, adapters: AdapterBuilder) -> None:
        self._clock = clock
        self._ids = ids
        self._builder = adapters
        self._lock = threading.Lock()
        self._adapters: dict[tuple[int, str], FirmAdapter] = {}

    def register(
        self,
        session: Session,
        *,
        code: str,
        name_ko: str,
        name_en: str,
        adapter: AdapterKind,
        base_url: str | None,
        capabilities: frozenset[Capability],
        actor: str = "operator",
    ) -> PlatformFirm:
        code = code.strip().upper()
        if not 2 <= len(code) <= FIRM_CODE_LENGTH_MAX or not code.isascii() or not code.isalnum():
            raise InvalidFirm(f"a firm code is 2 to {FIRM_CODE_LENGTH_MAX} letters or digits")
        if not name_ko.strip() or not name_en.strip():
            raise InvalidFirm("a firm has a Korean and an English name")
        if adapter is AdapterKind.BACKBONE:
            if code not in self._builder.local_firm_codes(session):
                raise InvalidFirm(f"{code} is not a firm of this installation's brokerage core")
            base_url = None
        else:
            parts = urlsplit(base_url or "")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidFirm("an http adapter needs the firm API's base URL")
        if repository.firm_by_code(session, code) is not None:
            raise FirmExists(f"{code} is already on the platform")
        firm = PlatformFirm(
            id=self._ids.next(),
            code=code,
            name_ko=name_ko.strip(),
            name_en=name_en.strip(),
            adapter=adapter,
            base_url=base_url,
            capabilities=capabilities,
            created_at=self._clock.now(),
        )
        repository.insert_firm(session, firm)
        record_change(
            session,
            audit_id=self._ids.next(),
            at=firm.created_at,
            action="firm.registered",
            actor=actor,
            detail=f"{code} via {adapter.value}: {' '.join(sorted(capabilities))}",
        )
        return firm

    def firm(self, session: Session, code: str) -> PlatformFirm:
        firm = repository.firm_by_code(session, code.strip().upper())
        if firm is None:
            raise UnknownFirm(f"no securities firm {code[:12]!r} on the platform")
        return firm

    def firms(self, session: Session) -> list[PlatformFirm]:
        return repository.firms(session)

    def local_balances(self, requests: Sequence[LocalBalanceRequest]) -> list[FirmBalance | FirmRefusal]:
        """Balances of accounts at this installation's own firms, answered together."""
        return self._builder.local_balances(requests)

    def adapter(self, firm: PlatformFirm) -> FirmAdapter:
        """The firm's adapter, built once per process (its circuit breaker lives with it)."""
        key = (firm.id, firm.base_url or "")
        with self._lock:
            found = self._adapters.get(key)
            if found is None:
                found = self._adapters[key] = self._builder.build(
                    code=firm.code,
                    adapter=firm.adapter.value,
                    base_url=firm.base_url,
                    capabilities=firm.capabilities,
                )
            return found
