"""Every query about fintech companies and their apps."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from backbone.kit.db import TableRecord
from backbone.open_platform.companies.domain import App, AppStatus, ClientAuthMethod, Company
from backbone.open_platform.models import AppRow, CompanyRow
from backbone.open_platform.scopes import format_scopes, parse_scopes


def _company(row: CompanyRow) -> Company:
    return Company(
        id=row.id,
        name=row.name,
        business_number=row.business_number,
        email=row.email,
        created_at=row.created_at,
    )


def app_of_row(row: AppRow | TableRecord) -> App:
    return App(
        id=row.id,
        company_id=row.company_id,
        client_id=row.client_id,
        name=row.name,
        description=row.description,
        redirect_uris=tuple(json.loads(row.redirect_uris)),
        scopes=parse_scopes(row.scopes),
        status=AppStatus(row.status),
        token_endpoint_auth_method=ClientAuthMethod(row.token_endpoint_auth_method),
        client_secret_hash=row.client_secret_hash,
        jwks=row.jwks,
        daily_quota=row.daily_quota,
        burst_limit=row.burst_limit,
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


def insert_company(session: Session, company: Company, api_key_hash: str) -> None:
    session.execute(
        insert(CompanyRow).values(
            id=company.id,
            name=company.name,
            business_number=company.business_number,
            email=company.email,
            api_key_hash=api_key_hash,
            created_at=company.created_at,
        )
    )


def company_by_business_number(session: Session, business_number: str) -> Company | None:
    row = session.scalars(select(CompanyRow).where(CompanyRow.business_number == business_number)).first()
    return None if row is None else _company(row)


def company_by_key_hash(session: Session, api_key_hash: str) -> Company | None:
    row = session.scalars(select(CompanyRow).where(CompanyRow.api_key_hash == api_key_hash)).first()
    return None if row is None else _company(row)


def company_by_id(session: Session, company_id: int) -> Company | None:
    row = session.get(CompanyRow, company_id)
    return None if row is None else _company(row)


def insert_app(session: Session, app: App) -> None:
    session.execute(
        insert(AppRow).values(
            id=app.id,
            company_id=app.company_id,
            client_id=app.client_id,
            name=app.name,
            description=app.description,
            redirect_uris=json.dumps(list(app.redirect_uris)),
            scopes=format_scopes(set(app.scopes)),
            status=app.status.value,
            token_endpoint_auth_method=app.token_endpoint_auth_method.value,
            client_secret_hash=app.client_secret_hash,
            jwks=app.jwks,
            daily_quota=app.daily_quota,
            burst_limit=app.burst_limit,
            webhook_url=app.webhook_url,
            webhook_secret=app.webhook_secret,
            created_at=app.created_at,
            decided_at=app.decided_at,
        )
    )


def app_count(session: Session, company_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(AppRow).where(AppRow.company_id == company_id)) or 0
    )


def app_by_client_id(session: Session, client_id: str) -> App | None:
    row = session.scalars(select(AppRow).where(AppRow.client_id == client_id)).first()
    return None if row is None else app_of_row(row)


def app_by_id(session: Session, app_id: int) -> App | None:
    row = session.get(AppRow, app_id)
    return None if row is None else app_of_row(row)


def apps_of_company(session: Session, company_id: int) -> list[App]:
    rows = session.scalars(select(AppRow).where(AppRow.company_id == company_id).order_by(AppRow.id))
    return [app_of_row(row) for row in rows]


def apps_in_status(session: Session, statuses: list[AppStatus]) -> list[App]:
    rows = session.scalars(
        select(AppRow).where(AppRow.status.in_([status.value for status in statuses])).order_by(AppRow.id)
    )
    return [app_of_row(row) for row in rows]


def update_app(
    session: Session,
    app_id: int,
    *,
    status: AppStatus | None = None,
    client_secret_hash: str | None = None,
    daily_quota: int | None = None,
    burst_limit: int | None = None,
    webhook: tuple[str, str] | None = None,
    decided_at: datetime | None = None,
) -> None:
    values: dict[str, object] = {}
    if status is not None:
        values["status"] = status.value
    if client_secret_hash is not None:
        values["client_secret_hash"] = client_secret_hash
    if daily_quota is not None:
        values["daily_quota"] = daily_quota
    if burst_limit is not None:
        values["burst_limit"] = burst_limit
    if webhook is not None:
        values["webhook_url"], values["webhook_secret"] = webhook
    if decided_at is not None:
        values["decided_at"] = decided_at
    if values:
        session.execute(update(AppRow).where(AppRow.id == app_id).values(**values))
