"""Fintech companies and their apps, pure: registration rules, the app's life as a transition
table, client authentication methods and redirect URIs.

Onboarding is self-service and paperless: a company registers, registers apps and gets sandbox
credentials at once (app-level calls: market data). Members' data needs production, which the
operator grants (or refuses) on the company's request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from backbone.open_platform.errors import AppStateConflict, InvalidApp, InvalidCompany
from backbone.open_platform.scopes import Scope

APPS_PER_COMPANY_MAX: Final = 20
REDIRECT_URIS_PER_APP_MAX: Final = 5
REDIRECT_URI_LENGTH_MAX: Final = 500
APP_NAME_LENGTH_MAX: Final = 80
DESCRIPTION_LENGTH_MAX: Final = 400
COMPANY_NAME_LENGTH_MAX: Final = 80
JWKS_BYTES_MAX: Final = 16_384
SANDBOX_DAILY_QUOTA: Final = 10_000
PRODUCTION_DAILY_QUOTA: Final = 1_000_000
DAILY_QUOTA_MAX: Final = 100_000_000
BURST_LIMIT_DEFAULT_PER_SECOND: Final = 50
BURST_LIMIT_MAX_PER_SECOND: Final = 100_000
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
BUSINESS_NUMBER_WEIGHTS: Final = (1, 3, 7, 1, 3, 7, 1, 3, 5)


class AppStatus(StrEnum):
    SANDBOX = "sandbox"
    PENDING_APPROVAL = "pending_approval"
    PRODUCTION = "production"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class AppEvent(StrEnum):
    REQUEST_PRODUCTION = "request_production"
    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


APP_TRANSITIONS: Final[dict[tuple[AppStatus, AppEvent], AppStatus]] = {
    (AppStatus.SANDBOX, AppEvent.REQUEST_PRODUCTION): AppStatus.PENDING_APPROVAL,
    (AppStatus.REJECTED, AppEvent.REQUEST_PRODUCTION): AppStatus.PENDING_APPROVAL,
    (AppStatus.PENDING_APPROVAL, AppEvent.APPROVE): AppStatus.PRODUCTION,
    (AppStatus.PENDING_APPROVAL, AppEvent.REJECT): AppStatus.REJECTED,
    (AppStatus.PRODUCTION, AppEvent.SUSPEND): AppStatus.SUSPENDED,
    (AppStatus.SUSPENDED, AppEvent.REINSTATE): AppStatus.PRODUCTION,
}


def app_transition(status: AppStatus, event: AppEvent) -> AppStatus:
    after = APP_TRANSITIONS.get((status, event))
    if after is None:
        raise AppStateConflict(f"an app in {status.value} cannot {event.value.replace('_', ' ')}")
    return after


class ClientAuthMethod(StrEnum):
    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 - a method's name, not a secret
    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105 - a method's name, not a secret
    PRIVATE_KEY_JWT = "private_key_jwt"


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    name: str
    business_number: str
    email: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class App:
    id: int
    company_id: int
    client_id: str
    name: str
    description: str
    redirect_uris: tuple[str, ...]
    scopes: frozenset[Scope]
    status: AppStatus
    token_endpoint_auth_method: ClientAuthMethod
    client_secret_hash: str | None
    jwks: str | None
    daily_quota: int
    burst_limit: int
    webhook_url: str | None
    webhook_secret: str | None
    created_at: datetime
    decided_at: datetime | None

    @property
    def in_production(self) -> bool:
        return self.status is AppStatus.PRODUCTION


def check_business_number(text: str) -> str:
    """사업자등록번호: 10 digits whose last is the check digit of the national algorithm."""
    digits = text.strip().replace("-", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise InvalidCompany("a business registration number is 10 digits, such as 123-45-67891")
    values = [int(digit) for digit in digits]
    total = sum(value * weight for value, weight in zip(values, BUSINESS_NUMBER_WEIGHTS, strict=False))
    total += values[8] * 5 // 10
    if (10 - total % 10) % 10 != values[9]:
        raise InvalidCompany("the business registration number's check digit is wrong")
    return digits


def check_company_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= COMPANY_NAME_LENGTH_MAX:
        raise InvalidCompany(f"a company name has 1 to {COMPANY_NAME_LENGTH_MAX} characters")
    return cleaned


EMAIL_PATTERN: Final = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def check_email(email: str) -> str:
    cleaned = email.strip()
    if len(cleaned) > 254 or not EMAIL_PATTERN.match(cleaned):
        raise InvalidCompany("the e-mail address is not valid")
    return cleaned


def check_redirect_uri(uri: str) -> str:
    """https anywhere; plain http only on the loopback (RFC 8252 §7.3); never a fragment, user
    information or a wildcard: the registered string is compared exactly."""
    if len(uri) > REDIRECT_URI_LENGTH_MAX:
        raise InvalidApp(f"a redirect URI has at most {REDIRECT_URI_LENGTH_MAX} characters")
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        raise InvalidApp(f"{uri!r} is not a URI") from error
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or parts.fragment or "@" in parts.netloc:
        raise InvalidApp(f"{uri!r} must be an absolute https URI without a fragment")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise InvalidApp(f"{uri!r}: plain http is allowed only on localhost")
    if "*" in uri:
        raise InvalidApp("redirect URIs are compared exactly; wildcards are not allowed")
    return uri


def check_app(
    *, name: str, description: str, redirect_uris: list[str], scopes: frozenset[Scope]
) -> tuple[str, str, tuple[str, ...]]:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= APP_NAME_LENGTH_MAX:
        raise InvalidApp(f"an app name has 1 to {APP_NAME_LENGTH_MAX} characters")
    if len(description) > DESCRIPTION_LENGTH_MAX:
        raise InvalidApp(f"a description has at most {DESCRIPTION_LENGTH_MAX} characters")
    if not 1 <= len(redirect_uris) <= REDIRECT_URIS_PER_APP_MAX:
        raise InvalidApp(f"an app has 1 to {REDIRECT_URIS_PER_APP_MAX} redirect URIs")
    if len(set(redirect_uris)) != len(redirect_uris):
        raise InvalidApp("a redirect URI appears twice")
    if not scopes:
        raise InvalidApp("an app asks for at least one scope")
    return cleaned, description, tuple(check_redirect_uri(uri) for uri in redirect_uris)
