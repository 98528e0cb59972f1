"""Consents, pure: the two signed consents of the journey and their life as a transition table.

- `platform_firm` (금융거래정보 제3자 제공 동의, platform↔firm): one per member and firm, signed
  with the member's certificate; a newly added firm needs its own.
- `fintech_firm` (핀테크 기업↔금융투자회사): one per member, fintech company and firm, signed with
  the certificate or confirmed by ARS. One signature covers every firm named in its document.

Each is valid for a year. Expiry needs no job: `effective_status` reads the stored status and the
injected clock, so a consent is expired on the first call after its time. Renewal opens a month
before expiry; the renewed consent continues from the old one's end, so renewing early loses no day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from backbone.open_platform.errors import ConsentStillValid, ConsentTransitionRefused

VALIDITY_DAYS: Final = 365
RENEWAL_WINDOW_DAYS: Final = 30
REQUEST_TTL_S: Final = 600  # a consent request must be completed within ten minutes
FIRMS_PER_CONSENT_MAX: Final = 20


class ConsentKind(StrEnum):
    PLATFORM_FIRM = "platform_firm"
    FINTECH_FIRM = "fintech_firm"


class ConsentMethod(StrEnum):
    CERTIFICATE = "certificate"
    ARS = "ars"


ALLOWED_METHODS: Final = {
    ConsentKind.PLATFORM_FIRM: frozenset({ConsentMethod.CERTIFICATE}),
    ConsentKind.FINTECH_FIRM: frozenset({ConsentMethod.CERTIFICATE, ConsentMethod.ARS}),
}


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    RENEWED = "renewed"  # replaced by a newer consent before it expired


class ConsentEvent(StrEnum):
    EXPIRE = "expire"
    REVOKE = "revoke"
    RENEW = "renew"


TRANSITIONS: Final[dict[tuple[ConsentStatus, ConsentEvent], ConsentStatus]] = {
    (ConsentStatus.ACTIVE, ConsentEvent.EXPIRE): ConsentStatus.EXPIRED,
    (ConsentStatus.ACTIVE, ConsentEvent.REVOKE): ConsentStatus.REVOKED,
    (ConsentStatus.ACTIVE, ConsentEvent.RENEW): ConsentStatus.RENEWED,
    # An expired consent may be renewed too: the new one simply starts now.
    (ConsentStatus.EXPIRED, ConsentEvent.RENEW): ConsentStatus.EXPIRED,
}


def transition(status: ConsentStatus, event: ConsentEvent) -> ConsentStatus:
    after = TRANSITIONS.get((status, event))
    if after is None:
        raise ConsentTransitionRefused(f"a {status.value} consent cannot {event.value}")
    return after


@dataclass(frozen=True, slots=True)
class Consent:
    id: int
    kind: ConsentKind
    member_id: int
    firm_id: int
    company_id: int | None
    method: ConsentMethod
    signature_id: int | None
    ars_call_id: int | None
    document_text: str
    status: ConsentStatus
    signed_at: datetime
    expires_at: datetime
    ended_at: datetime | None

    def effective_status(self, now: datetime) -> ConsentStatus:
        if self.status is ConsentStatus.ACTIVE and now >= self.expires_at:
            return ConsentStatus.EXPIRED
        return self.status

    def is_valid(self, now: datetime) -> bool:
        return self.effective_status(now) is ConsentStatus.ACTIVE

    @property
    def renewable_from(self) -> datetime:
        return self.expires_at - timedelta(days=RENEWAL_WINDOW_DAYS)


def new_validity(now: datetime, current: Consent | None) -> tuple[datetime, datetime]:
    """(signed at, expires at) of a consent signed now, replacing `current` if there is one.

    Refused while `current` is valid and more than a month from expiry."""
    if current is not None and current.is_valid(now):
        if now < current.renewable_from:
            raise ConsentStillValid(
                f"consent {current.id} is valid until {current.expires_at.isoformat()}; "
                f"renewal opens {current.renewable_from.isoformat()}",
                consent_id=current.id,
                renewable_from=current.renewable_from.isoformat(),
            )
        return now, current.expires_at + timedelta(days=VALIDITY_DAYS)
    return now, now + timedelta(days=VALIDITY_DAYS)


def platform_firm_text(*, member_name: str, firm_name: str, firm_code: str) -> str:
    return (
        "금융거래정보 제3자 제공 동의 (플랫폼-금융투자회사)\n"
        f"동의인: {member_name}\n"
        f"제공기관: {firm_name} ({firm_code})\n"
        "제공받는 자: Backbone 오픈플랫폼\n"
        "제공 목적: 오픈플랫폼을 통한 금융거래정보(잔고, 거래내역, 포트폴리오, 관심종목) 전달\n"
        f"유효기간: 동의일로부터 {VALIDITY_DAYS}일\n"
        "동의는 언제든지 철회할 수 있으며, 철회는 즉시 효력이 있습니다."
    )


def fintech_firm_text(
    *, member_name: str, company_name: str, app_name: str, firms: list[tuple[str, str]]
) -> str:
    firm_lines = ", ".join(f"{name} ({code})" for name, code in firms)
    return (
        "금융거래정보 제3자 제공 동의 (핀테크 기업-금융투자회사)\n"
        f"동의인: {member_name}\n"
        f"제공기관: {firm_lines}\n"
        f"제공받는 자: {company_name} (앱: {app_name})\n"
        "제공 정보: 선택한 가상계좌의 잔고, 거래내역, 포트폴리오, 관심종목\n"
        f"유효기간: 동의일로부터 {VALIDITY_DAYS}일\n"
        "동의는 언제든지 철회할 수 있으며, 철회는 다음 조회부터 즉시 효력이 있습니다."
    )
