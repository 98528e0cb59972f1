"""Securities firms on the platform, pure: each is reached through one adapter, which declares
what the firm supports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backbone.open_platform.adapters.interface import Capability


class AdapterKind(StrEnum):
    BACKBONE = "backbone"  # the firm runs its accounts on this installation's brokerage core
    HTTP = "http"  # the firm runs its own system and answers the platform's firm API


@dataclass(frozen=True, slots=True)
class PlatformFirm:
    id: int
    code: str
    name_ko: str
    name_en: str
    adapter: AdapterKind
    base_url: str | None
    capabilities: frozenset[Capability]
    created_at: datetime

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities
