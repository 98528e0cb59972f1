"""The portal's shapes for the journey (steps 6-12), virtual account and consent management."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backbone.kit.clock import SEOUL
from backbone.open_platform.companies.domain import App
from backbone.open_platform.consents.domain import Consent, ConsentMethod
from backbone.open_platform.firms.domain import PlatformFirm
from backbone.open_platform.journey.domain import Membership
from backbone.open_platform.virtual_accounts.domain import VirtualAccount, display_number


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogAppOut(Shape):
    app_id: str
    client_id: str
    name: str
    description: str
    scopes: list[str]

    @classmethod
    def of(cls, app: App) -> CatalogAppOut:
        return cls(
            app_id=str(app.id),
            client_id=app.client_id,
            name=app.name,
            description=app.description,
            scopes=sorted(scope.value for scope in app.scopes),
        )


class ApplyIn(Shape):
    client_id: str = Field(max_length=64)


class MembershipOut(Shape):
    client_id: str
    app_name: str
    status: str
    applied_at: datetime

    @classmethod
    def of(cls, membership: Membership, app: App) -> MembershipOut:
        return cls(
            client_id=app.client_id,
            app_name=app.name,
            status=membership.status.value,
            applied_at=membership.applied_at.astimezone(SEOUL),
        )


class PortalFirmOut(Shape):
    code: str
    name_ko: str
    name_en: str
    lists_accounts: bool = Field(description="true: choose from the firm's list; false: type the number")
    capabilities: list[str]

    @classmethod
    def of(cls, firm: PlatformFirm) -> PortalFirmOut:
        return cls(
            code=firm.code,
            name_ko=firm.name_ko,
            name_en=firm.name_en,
            lists_accounts="list_accounts" in firm.capabilities,
            capabilities=sorted(firm.capabilities),
        )


class FirmAccountOut(Shape):
    number: str = Field(description="Your real account number at the firm, as the firm writes it")
    account_type: str
    alias: str
    virtual_account_number: str | None = Field(description="Its virtual account, when one is issued")


class IssueIn(Shape):
    firm: str = Field(max_length=8)
    account_number: str = Field(max_length=24, description="The real account number at the firm")
    alias: str = Field(default="", max_length=40)


class VirtualAccountOut(Shape):
    number: str
    display_number: str
    firm: str
    alias: str
    account_type: str
    source: str
    issued_at: datetime

    @classmethod
    def of(cls, account: VirtualAccount) -> VirtualAccountOut:
        return cls(
            number=account.number,
            display_number=display_number(account.number),
            firm=account.firm_code,
            alias=account.alias,
            account_type=account.account_type,
            source=account.source.value,
            issued_at=account.issued_at.astimezone(SEOUL),
        )


class AliasIn(Shape):
    alias: str = Field(max_length=40)


class LinksIn(Shape):
    virtual_account_numbers: list[str] = Field(max_length=50)


class PlatformConsentIn(Shape):
    firm: str = Field(max_length=8)


class FintechConsentIn(Shape):
    client_id: str = Field(max_length=64)
    method: ConsentMethod = ConsentMethod.CERTIFICATE


class ConsentRequestOut(Shape):
    request_id: str
    kind: str
    method: str
    text: str
    expires_at: datetime
    challenge_id: str | None = Field(description="certificate: the signing challenge to answer")
    document: str | None = Field(description="certificate: base64 of the exact bytes to sign (CMS)")
    ars_call_id: str | None = Field(description="ARS: the call ringing the member's phone")
    ars_digits: str | None = Field(description="ARS: the two digits to show; the member keys them in")


class CompleteIn(Shape):
    signed_data: str | None = Field(default=None, max_length=100_000, description="base64 CMS SignedData")
    challenge_id: int | str | None = Field(
        default=None,
        description="Ignored: the request names its own challenge (the portal's signing component sends it)",
    )


class ConsentOut(Shape):
    id: str
    kind: str
    firm: str
    company_id: str | None
    method: str
    status: str
    signed_at: datetime
    expires_at: datetime
    renewable_from: datetime
    signature_id: str | None
    text: str

    @classmethod
    def of(cls, consent: Consent, firm_code: str, now: datetime) -> ConsentOut:
        return cls(
            id=str(consent.id),
            kind=consent.kind.value,
            firm=firm_code,
            company_id=None if consent.company_id is None else str(consent.company_id),
            method=consent.method.value,
            status=consent.effective_status(now).value,
            signed_at=consent.signed_at.astimezone(SEOUL),
            expires_at=consent.expires_at.astimezone(SEOUL),
            renewable_from=consent.renewable_from.astimezone(SEOUL),
            signature_id=None if consent.signature_id is None else str(consent.signature_id),
            text=consent.document_text,
        )


class StepOut(Shape):
    step: str
    firm: str | None
    detail: str


class JourneyOut(Shape):
    client_id: str
    complete: bool
    missing: list[StepOut]
