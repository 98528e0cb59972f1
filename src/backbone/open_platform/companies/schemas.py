"""Shapes of the business side (fintech companies) and the operator's platform routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backbone.kit.clock import SEOUL
from backbone.open_platform.adapters.interface import Capability
from backbone.open_platform.companies.domain import App, ClientAuthMethod, Company
from backbone.open_platform.firms.domain import AdapterKind, PlatformFirm
from backbone.open_platform.scopes import Scope
from backbone.open_platform.webhooks.repository import Delivery


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompanyIn(Shape):
    name: str = Field(min_length=1, max_length=80)
    business_number: str = Field(
        max_length=12, description="사업자등록번호, 10 digits", examples=["220-81-62517"]
    )
    email: str = Field(max_length=254)


class CompanyOut(Shape):
    id: str
    name: str
    business_number: str
    email: str
    created_at: datetime

    @classmethod
    def of(cls, company: Company) -> CompanyOut:
        return cls(
            id=str(company.id),
            name=company.name,
            business_number=company.business_number,
            email=company.email,
            created_at=company.created_at.astimezone(SEOUL),
        )


class RegisteredCompanyOut(Shape):
    company: CompanyOut
    api_key: str = Field(description="Shown this once; Backbone keeps only its hash")


class AppIn(Shape):
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=400)
    redirect_uris: list[str] = Field(min_length=1, max_length=5)
    scopes: list[Scope] = Field(min_length=1, max_length=10)
    token_endpoint_auth_method: ClientAuthMethod = ClientAuthMethod.CLIENT_SECRET_BASIC
    jwks: dict[str, Any] | None = Field(default=None, description="Public keys, for private_key_jwt")


class AppOut(Shape):
    client_id: str
    name: str
    description: str
    redirect_uris: list[str]
    scopes: list[str]
    status: str
    token_endpoint_auth_method: str
    daily_quota: int
    burst_limit_per_second: int
    webhook_url: str | None
    created_at: datetime

    @classmethod
    def of(cls, app: App) -> AppOut:
        return cls(
            client_id=app.client_id,
            name=app.name,
            description=app.description,
            redirect_uris=list(app.redirect_uris),
            scopes=sorted(scope.value for scope in app.scopes),
            status=app.status.value,
            token_endpoint_auth_method=app.token_endpoint_auth_method.value,
            daily_quota=app.daily_quota,
            burst_limit_per_second=app.burst_limit,
            webhook_url=app.webhook_url,
            created_at=app.created_at.astimezone(SEOUL),
        )


class RegisteredAppOut(Shape):
    app: AppOut
    client_secret: str | None = Field(description="Shown this once (null for private_key_jwt)")


class SecretOut(Shape):
    client_secret: str


class WebhookIn(Shape):
    url: str = Field(max_length=500)


class WebhookOut(Shape):
    url: str
    secret: str = Field(description="Signs every delivery (HMAC-SHA256); shown this once")


class DeliveryOut(Shape):
    id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=str(delivery.id),
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            status=delivery.status.value,
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=delivery.created_at.astimezone(SEOUL),
            next_attempt_at=None
            if delivery.status.value != "pending"
            else delivery.next_attempt_at.astimezone(SEOUL),
            delivered_at=None if delivery.delivered_at is None else delivery.delivered_at.astimezone(SEOUL),
        )


class ApprovalIn(Shape):
    daily_quota: int | None = Field(default=None, ge=1, le=100_000_000)
    burst_limit_per_second: int | None = Field(default=None, ge=1, le=100_000)


class PlatformFirmIn(Shape):
    code: str = Field(min_length=2, max_length=8)
    name_ko: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=80)
    adapter: AdapterKind
    base_url: str | None = Field(default=None, max_length=500)
    capabilities: list[Capability] | None = Field(default=None, description="Default: all")


class PlatformFirmOut(Shape):
    code: str
    name_ko: str
    name_en: str
    adapter: str
    base_url: str | None
    capabilities: list[str]

    @classmethod
    def of(cls, firm: PlatformFirm) -> PlatformFirmOut:
        return cls(
            code=firm.code,
            name_ko=firm.name_ko,
            name_en=firm.name_en,
            adapter=firm.adapter.value,
            base_url=firm.base_url,
            capabilities=sorted(firm.capabilities),
        )
