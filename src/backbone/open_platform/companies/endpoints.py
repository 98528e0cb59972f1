"""The business side over HTTP (/api/v1/business: a fintech company's own key) and the operator's
platform routes (/api/backoffice/v1/platform: the back-office operator token)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Header, Query, Request, status

from backbone.dependencies import DatabaseDep, OperatorDep, service
from backbone.kit.db import Database
from backbone.open_platform.adapters.interface import ALL_CAPABILITIES
from backbone.open_platform.companies.domain import AppStatus, Company
from backbone.open_platform.companies.schemas import (
    AppIn,
    AppOut,
    ApprovalIn,
    CompanyIn,
    CompanyOut,
    DeliveryOut,
    PlatformFirmIn,
    PlatformFirmOut,
    RegisteredAppOut,
    RegisteredCompanyOut,
    SecretOut,
    WebhookIn,
    WebhookOut,
)
from backbone.open_platform.errors import CompanyKeyRejected, UnknownApp
from backbone.open_platform.services import OpenPlatform

business_router = APIRouter(prefix="/api/v1/business", tags=["open platform: fintech companies"])
operator_router = APIRouter(prefix="/api/backoffice/v1/platform", tags=["open platform: operator"])
DELIVERIES_LISTED_MAX = 200


def _platform(request: Request) -> OpenPlatform:
    return cast(OpenPlatform, service(request, "open_platform"))


PlatformDep = Annotated[OpenPlatform, Depends(_platform)]


def _company(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <company API key>")] = None,
) -> Company:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise CompanyKeyRejected(
            "send the company API key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": 'Bearer realm="business"'},
        )
    platform = _platform(request)
    with cast(Database, service(request, "database")).reading() as session:
        return platform.companies.company_by_key(session, key.strip())


CompanyDep = Annotated[Company, Depends(_company)]


@business_router.post("/companies", status_code=status.HTTP_201_CREATED, summary="Register a fintech company")
def register_company(body: CompanyIn, database: DatabaseDep, platform: PlatformDep) -> RegisteredCompanyOut:
    with database.transaction() as session:
        company, api_key = platform.companies.register_company(
            session, name=body.name, business_number=body.business_number, email=body.email
        )
    return RegisteredCompanyOut(company=CompanyOut.of(company), api_key=api_key)


@business_router.get("/company", summary="My company")
def my_company(company: CompanyDep) -> CompanyOut:
    return CompanyOut.of(company)


@business_router.post(
    "/apps", status_code=status.HTTP_201_CREATED, summary="Register an app: sandbox at once"
)
def register_app(
    body: AppIn, company: CompanyDep, database: DatabaseDep, platform: PlatformDep
) -> RegisteredAppOut:
    with database.transaction() as session:
        app, secret = platform.companies.register_app(
            session,
            company=company,
            name=body.name,
            description=body.description,
            redirect_uris=body.redirect_uris,
            scopes=frozenset(body.scopes),
            auth_method=body.token_endpoint_auth_method,
            jwks=body.jwks,
        )
    return RegisteredAppOut(app=AppOut.of(app), client_secret=secret)


@business_router.get("/apps", summary="My apps")
def my_apps(company: CompanyDep, database: DatabaseDep, platform: PlatformDep) -> list[AppOut]:
    with database.reading() as session:
        return [AppOut.of(app) for app in platform.companies.apps_of_company(session, company)]


@business_router.get("/apps/{client_id}", summary="One of my apps")
def my_app(client_id: str, company: CompanyDep, database: DatabaseDep, platform: PlatformDep) -> AppOut:
    with database.reading() as session:
        return AppOut.of(platform.companies.app_of_company(session, company, client_id))


@business_router.post("/apps/{client_id}/secret", summary="Rotate the client secret (shown once)")
def rotate(client_id: str, company: CompanyDep, database: DatabaseDep, platform: PlatformDep) -> SecretOut:
    with database.transaction() as session:
        app = platform.companies.app_of_company(session, company, client_id)
        return SecretOut(client_secret=platform.companies.rotate_secret(session, app))


@business_router.post("/apps/{client_id}/production", summary="Ask the operator for production access")
def request_production(
    client_id: str, company: CompanyDep, database: DatabaseDep, platform: PlatformDep
) -> AppOut:
    with database.transaction() as session:
        app = platform.companies.app_of_company(session, company, client_id)
        return AppOut.of(platform.companies.request_production(session, app))


@business_router.put(
    "/apps/{client_id}/webhook", summary="Where consent events go; the signing secret (once)"
)
def set_webhook(
    client_id: str, body: WebhookIn, company: CompanyDep, database: DatabaseDep, platform: PlatformDep
) -> WebhookOut:
    with database.transaction() as session:
        app = platform.companies.app_of_company(session, company, client_id)
        return WebhookOut(url=body.url, secret=platform.companies.set_webhook(session, app, body.url))


@business_router.get("/apps/{client_id}/webhook-deliveries", summary="The delivery log, newest first")
def deliveries(
    client_id: str,
    company: CompanyDep,
    database: DatabaseDep,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=DELIVERIES_LISTED_MAX)] = 50,
) -> list[DeliveryOut]:
    with database.reading() as session:
        app = platform.companies.app_of_company(session, company, client_id)
        return [DeliveryOut.of(item) for item in platform.webhooks.deliveries(session, app.id, limit)]


# --- operator -----------------------------------------------------------------------------------


@operator_router.get("/apps", summary="Apps, by status (default: waiting for approval)")
def operator_apps(
    database: DatabaseDep,
    platform: PlatformDep,
    _operator: OperatorDep,
    status_filter: Annotated[AppStatus, Query(alias="status")] = AppStatus.PENDING_APPROVAL,
) -> list[AppOut]:
    with database.reading() as session:
        return [AppOut.of(app) for app in platform.companies.apps_in_status(session, [status_filter])]


@operator_router.post("/apps/{client_id}/approve", summary="Grant production access, with the app's limits")
def approve(
    client_id: str, body: ApprovalIn, database: DatabaseDep, platform: PlatformDep, _operator: OperatorDep
) -> AppOut:
    with database.transaction() as session:
        app = platform.companies.app_by_client_id(session, client_id)
        if app is None:
            raise UnknownApp(f"no app {client_id[:64]!r}")
        return AppOut.of(
            platform.companies.approve(
                session, app, daily_quota=body.daily_quota, burst_limit=body.burst_limit_per_second
            )
        )


@operator_router.post("/apps/{client_id}/reject", summary="Refuse production access")
def reject(client_id: str, database: DatabaseDep, platform: PlatformDep, _operator: OperatorDep) -> AppOut:
    with database.transaction() as session:
        app = platform.companies.app_by_client_id(session, client_id)
        if app is None:
            raise UnknownApp(f"no app {client_id[:64]!r}")
        return AppOut.of(platform.companies.reject(session, app))


@operator_router.put("/apps/{client_id}/limits", summary="Set an app's daily quota and burst limit")
def set_limits(
    client_id: str, body: ApprovalIn, database: DatabaseDep, platform: PlatformDep, _operator: OperatorDep
) -> AppOut:
    with database.transaction() as session:
        app = platform.companies.app_by_client_id(session, client_id)
        if app is None:
            raise UnknownApp(f"no app {client_id[:64]!r}")
        return AppOut.of(
            platform.companies.set_limits(
                session,
                app,
                daily_quota=body.daily_quota or app.daily_quota,
                burst_limit=body.burst_limit_per_second or app.burst_limit,
            )
        )


@operator_router.post(
    "/firms", status_code=status.HTTP_201_CREATED, summary="Put a securities firm on the platform"
)
def register_firm(
    body: PlatformFirmIn, database: DatabaseDep, platform: PlatformDep, _operator: OperatorDep
) -> PlatformFirmOut:
    with database.transaction() as session:
        firm = platform.firms.register(
            session,
            code=body.code,
            name_ko=body.name_ko,
            name_en=body.name_en,
            adapter=body.adapter,
            base_url=body.base_url,
            capabilities=ALL_CAPABILITIES if body.capabilities is None else frozenset(body.capabilities),
        )
    return PlatformFirmOut.of(firm)


@operator_router.get("/firms", summary="Securities firms on the platform")
def operator_firms(
    database: DatabaseDep, platform: PlatformDep, _operator: OperatorDep
) -> list[PlatformFirmOut]:
    with database.reading() as session:
        return [PlatformFirmOut.of(firm) for firm in platform.firms.firms(session)]
