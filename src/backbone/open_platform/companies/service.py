"""Fintech companies and apps: self-service registration, credentials shown once and kept only
as hashes, the operator's approval for production, and the app's webhook. Services never commit."""

from __future__ import annotations

import hashlib
import json
import secrets

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.open_platform.audit.repository import record_change
from backbone.open_platform.companies import repository
from backbone.open_platform.companies.domain import (
    APPS_PER_COMPANY_MAX,
    BURST_LIMIT_DEFAULT_PER_SECOND,
    BURST_LIMIT_MAX_PER_SECOND,
    DAILY_QUOTA_MAX,
    JWKS_BYTES_MAX,
    PRODUCTION_DAILY_QUOTA,
    SANDBOX_DAILY_QUOTA,
    App,
    AppEvent,
    AppStatus,
    ClientAuthMethod,
    Company,
    app_transition,
    check_app,
    check_business_number,
    check_company_name,
    check_email,
)
from backbone.open_platform.companies.domain import check_redirect_uri as check_uri
from backbone.open_platform.errors import (
    CompanyExists,
    CompanyKeyRejected,
    InvalidApp,
    InvalidWebhook,
    LimitExceeded,
    UnknownApp,
)
from backbone.open_platform.scopes import Scope

SECRET_BYTES = 32
CLIENT_ID_BYTES = 12


def secret_hash(secret: str) -> str:
    """Secrets are 256 random bits, so one SHA-256 is enough to keep them safe at rest (a slow hash
    guards guessable passwords, not random keys) and keeps client authentication fast."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and secrets.compare_digest(secret_hash(secret), stored_hash)


class Companies:
    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    # --- companies ------------------------------------------------------------------------------

    def register_company(
        self, session: Session, *, name: str, business_number: str, email: str
    ) -> tuple[Company, str]:
        """The company and its API key, which is shown this once and kept only as a hash."""
        number = check_business_number(business_number)
        if repository.company_by_business_number(session, number) is not None:
            raise CompanyExists("a company with this business registration number is registered")
        company = Company(
            id=self._ids.next(),
            name=check_company_name(name),
            business_number=number,
            email=check_email(email),
            created_at=self._clock.now(),
        )
        api_key = "bbk_" + secrets.token_urlsafe(SECRET_BYTES)
        repository.insert_company(session, company, secret_hash(api_key))
        self._audit(session, "company.registered", company_id=company.id, detail=company.name)
        return company, api_key

    def company_by_key(self, session: Session, api_key: str) -> Company:
        company = repository.company_by_key_hash(session, secret_hash(api_key)) if api_key else None
        if company is None:
            raise CompanyKeyRejected(
                "send the company API key as `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": 'Bearer realm="business"'},
            )
        return company

    def company(self, session: Session, company_id: int) -> Company:
        company = repository.company_by_id(session, company_id)
        if company is None:
            raise UnknownApp(f"no company {company_id}")
        return company

    # --- apps -----------------------------------------------------------------------------------

    def register_app(
        self,
        session: Session,
        *,
        company: Company,
        name: str,
        description: str,
        redirect_uris: list[str],
        scopes: frozenset[Scope],
        auth_method: ClientAuthMethod,
        jwks: dict[str, object] | None,
        client_id: str | None = None,
    ) -> tuple[App, str | None]:
        """The app in sandbox, and its client secret (shown once) unless it uses private_key_jwt."""
        cleaned_name, cleaned_description, uris = check_app(
            name=name, description=description, redirect_uris=redirect_uris, scopes=scopes
        )
        if repository.app_count(session, company.id) >= APPS_PER_COMPANY_MAX:
            raise LimitExceeded(f"a company registers at most {APPS_PER_COMPANY_MAX} apps")
        jwks_text = _check_jwks(auth_method, jwks)
        secret = None if auth_method is ClientAuthMethod.PRIVATE_KEY_JWT else _new_secret()
        app = App(
            id=self._ids.next(),
            company_id=company.id,
            client_id=client_id or "app_" + secrets.token_hex(CLIENT_ID_BYTES),
            name=cleaned_name,
            description=cleaned_description,
            redirect_uris=uris,
            scopes=scopes,
            status=AppStatus.SANDBOX,
            token_endpoint_auth_method=auth_method,
            client_secret_hash=None if secret is None else secret_hash(secret),
            jwks=jwks_text,
            daily_quota=SANDBOX_DAILY_QUOTA,
            burst_limit=BURST_LIMIT_DEFAULT_PER_SECOND,
            webhook_url=None,
            webhook_secret=None,
            created_at=self._clock.now(),
            decided_at=None,
        )
        repository.insert_app(session, app)
        self._audit(session, "app.registered", company_id=company.id, app_id=app.id, detail=app.client_id)
        return app, secret

    def app_of_company(self, session: Session, company: Company, client_id: str) -> App:
        app = repository.app_by_client_id(session, client_id)
        if app is None or app.company_id != company.id:
            raise UnknownApp(f"your company has no app {client_id[:48]!r}")
        return app

    def app_by_client_id(self, session: Session, client_id: str) -> App | None:
        return repository.app_by_client_id(session, client_id)

    def app(self, session: Session, app_id: int) -> App:
        app = repository.app_by_id(session, app_id)
        if app is None:
            raise UnknownApp(f"no app {app_id}")
        return app

    def apps_of_company(self, session: Session, company: Company) -> list[App]:
        return repository.apps_of_company(session, company.id)

    def catalog(self, session: Session) -> list[App]:
        """Apps members can apply to use: those in production."""
        return repository.apps_in_status(session, [AppStatus.PRODUCTION])

    def apps_in_status(self, session: Session, statuses: list[AppStatus]) -> list[App]:
        return repository.apps_in_status(session, statuses)

    def rotate_secret(self, session: Session, app: App) -> str:
        if app.token_endpoint_auth_method is ClientAuthMethod.PRIVATE_KEY_JWT:
            raise InvalidApp("this app authenticates with private_key_jwt and has no secret")
        secret = _new_secret()
        repository.update_app(session, app.id, client_secret_hash=secret_hash(secret))
        self._audit(session, "app.secret_rotated", company_id=app.company_id, app_id=app.id)
        return secret

    def request_production(self, session: Session, app: App) -> App:
        return self._move(session, app, AppEvent.REQUEST_PRODUCTION, actor="company")

    def approve(
        self, session: Session, app: App, *, daily_quota: int | None = None, burst_limit: int | None = None
    ) -> App:
        quota = PRODUCTION_DAILY_QUOTA if daily_quota is None else daily_quota
        burst = BURST_LIMIT_DEFAULT_PER_SECOND if burst_limit is None else burst_limit
        if not 1 <= quota <= DAILY_QUOTA_MAX or not 1 <= burst <= BURST_LIMIT_MAX_PER_SECOND:
            raise InvalidApp(
                f"a daily quota is 1 to {DAILY_QUOTA_MAX:,}; "
                f"a burst limit 1 to {BURST_LIMIT_MAX_PER_SECOND:,}/s"
            )
        moved = self._move(session, app, AppEvent.APPROVE, actor="operator")
        repository.update_app(session, app.id, daily_quota=quota, burst_limit=burst)
        return self.app(session, moved.id)

    def reject(self, session: Session, app: App) -> App:
        return self._move(session, app, AppEvent.REJECT, actor="operator")

    def set_limits(self, session: Session, app: App, *, daily_quota: int, burst_limit: int) -> App:
        if not 1 <= daily_quota <= DAILY_QUOTA_MAX or not 1 <= burst_limit <= BURST_LIMIT_MAX_PER_SECOND:
            raise InvalidApp("the limits are out of range")
        repository.update_app(session, app.id, daily_quota=daily_quota, burst_limit=burst_limit)
        self._audit(
            session,
            "app.limits_set",
            app_id=app.id,
            actor="operator",
            detail=f"{daily_quota}/day {burst_limit}/s",
        )
        return self.app(session, app.id)

    def set_webhook(self, session: Session, app: App, url: str) -> str:
        """Where consent events go, and the HMAC secret that signs them (shown this once)."""
        try:
            check_uri(url)
        except InvalidApp as error:
            raise InvalidWebhook(error.detail) from error
        secret = "whsec_" + secrets.token_urlsafe(SECRET_BYTES)
        repository.update_app(session, app.id, webhook=(url, secret))
        self._audit(session, "app.webhook_set", company_id=app.company_id, app_id=app.id, detail=url)
        return secret

    # --- internals ------------------------------------------------------------------------------

    def _move(self, session: Session, app: App, event: AppEvent, *, actor: str) -> App:
        status = app_transition(app.status, event)
        repository.update_app(session, app.id, status=status, decided_at=self._clock.now())
        self._audit(
            session,
            f"app.{event.value}",
            company_id=app.company_id,
            app_id=app.id,
            actor=actor,
            detail=f"{app.status.value} -> {status.value}",
        )
        return self.app(session, app.id)

    def _audit(
        self,
        session: Session,
        action: str,
        *,
        company_id: int | None = None,
        app_id: int | None = None,
        actor: str = "company",
        detail: str = "",
    ) -> None:
        record_change(
            session,
            audit_id=self._ids.next(),
            at=self._clock.now(),
            action=action,
            actor=actor,
            company_id=company_id,
            app_id=app_id,
            detail=detail,
        )


def _new_secret() -> str:
    return "bbs_" + secrets.token_urlsafe(SECRET_BYTES)


def _check_jwks(auth_method: ClientAuthMethod, jwks: dict[str, object] | None) -> str | None:
    if auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
        if jwks is not None:
            raise InvalidApp("a JWKS is only for private_key_jwt")
        return None
    if jwks is None:
        raise InvalidApp("private_key_jwt needs the app's public keys as a JWKS")
    text = json.dumps(jwks)
    if len(text) > JWKS_BYTES_MAX:
        raise InvalidApp(f"a JWKS has at most {JWKS_BYTES_MAX} bytes")
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise InvalidApp(f"the JWKS is not valid: {error}") from error
    if not keys.keys or any(key.is_private for key in keys.keys):
        raise InvalidApp("the JWKS must hold public keys only")
    return text
