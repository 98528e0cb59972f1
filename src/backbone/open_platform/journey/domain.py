"""The investor's journey (SYSTEM.md §4, steps 6-12), pure: memberships, consent requests, what a
member still has to do before an app may read, and whether one linked account is readable now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backbone.open_platform.consents.domain import Consent, ConsentKind, ConsentMethod, ConsentStatus
from backbone.open_platform.errors import ConsentExpired, ConsentRequired, ConsentRevoked
from backbone.open_platform.firms.domain import PlatformFirm
from backbone.open_platform.virtual_accounts.domain import VirtualAccount

LINKS_PER_APP_MAX = 50


class MembershipStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Membership:
    id: int
    member_id: int
    app_id: int
    subject: str  # the member's pairwise id for this app: the tokens' `sub`
    status: MembershipStatus
    applied_at: datetime

    @property
    def is_active(self) -> bool:
        return self.status is MembershipStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    id: int
    member_id: int
    kind: ConsentKind
    firm_ids: tuple[int, ...]
    company_id: int | None
    app_id: int | None
    method: ConsentMethod
    text: str
    challenge_id: int | None
    ars_call_id: int | None
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None


class AccessState(StrEnum):
    OK = "ok"
    CONSENT_MISSING = "consent_missing"
    CONSENT_EXPIRED = "consent_expired"
    CONSENT_REVOKED = "consent_revoked"


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """One virtual account linked to an app, with the two consents that govern reading it."""

    virtual_account: VirtualAccount
    firm: PlatformFirm
    platform_consent: Consent | None
    fintech_consent: Consent | None

    def state(self, now: datetime) -> AccessState:
        worst = AccessState.OK
        for consent in (self.platform_consent, self.fintech_consent):
            if consent is None:
                return AccessState.CONSENT_MISSING
            status = consent.effective_status(now)
            if status is ConsentStatus.REVOKED:
                return AccessState.CONSENT_REVOKED
            if status is not ConsentStatus.ACTIVE:
                worst = AccessState.CONSENT_EXPIRED
        return worst

    def require_readable(self, now: datetime) -> tuple[Consent, Consent]:
        """The two consents in force, or the refusal that says which is not."""
        state = self.state(now)
        if state is AccessState.CONSENT_REVOKED:
            raise ConsentRevoked("the member revoked a consent this account needs")
        if state is AccessState.CONSENT_EXPIRED:
            raise ConsentExpired("a consent this account needs has expired; the member can renew it")
        if (
            state is AccessState.CONSENT_MISSING
            or self.platform_consent is None
            or self.fintech_consent is None
        ):
            raise ConsentRequired("the member has not signed the consents this account needs")
        return self.platform_consent, self.fintech_consent
