"""Drives the open platform over HTTP as its users do: a fintech company registering an app, the
operator approving it, a member walking the portal journey (steps 6-12) with a real certificate
and CMS signatures, and the app's OAuth dance. Works with FastAPI's TestClient and with a plain
httpx client against a real server alike."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from backbone.identity.client import KeyAlgorithm, generate_key, sign_document, signing_request
from backbone.identity.cms import SigningKey
from tests.conftest import OPERATOR_TOKEN
from tests.identity import flows

PORTAL = "/api/v1/platform"
IDENTITY = "/api/v1/identity"
BUSINESS = "/api/v1/business"
OPERATOR = "/api/backoffice/v1/platform"
REDIRECT_URI = "http://localhost:9000/callback"
# Business registration numbers with valid check digits (the national algorithm).
BUSINESS_NUMBERS = ("1208147521", "2118700033", "1058166776", "1248100998", "3148622019")


def business_number(index: int) -> str:
    return BUSINESS_NUMBERS[index % len(BUSINESS_NUMBERS)]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def check(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


@dataclass
class Browser:
    """A member's browser: cookies kept, the CSRF header sent on every change."""

    client: Any
    now: Callable[[], datetime]
    key: SigningKey | None = None
    certificate_pem: bytes | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        csrf = self.client.cookies.get("backbone_csrf")
        if csrf and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            headers.setdefault("X-CSRF-Token", csrf)
        return self.client.request(method, path, headers=headers, **kwargs)

    def sign_up(self, *, name: str, birth_date: str, phone: str, email: str) -> None:
        check(self.request("POST", f"{IDENTITY}/signup", json={"accepted_terms": flows.all_terms()}), 201)
        check(
            self.request(
                "POST",
                f"{IDENTITY}/signup/code",
                json={"name": name, "birth_date": birth_date, "phone": phone},
            )
        )
        outbox = check(self.request("GET", f"{IDENTITY}/dev/outbox", params={"to": phone, "channel": "sms"}))
        code = flows.CODE_PATTERN.search(outbox[-1]["body"])
        assert code is not None
        check(self.request("POST", f"{IDENTITY}/signup/code/confirm", json={"code": code.group(1)}))
        check(self.request("POST", f"{IDENTITY}/signup/complete", json={"email": email}), 201)

    def certify(self) -> None:
        """A key made here, a certificate from Backbone's authority, and a certificate step-up."""
        self.key = generate_key(KeyAlgorithm.EC_P256)
        issued = check(
            self.request(
                "POST", f"{IDENTITY}/me/certificates", json={"csr": signing_request(self.key).decode()}
            ),
            201,
        )
        self.certificate_pem = issued["certificate_pem"].encode()
        challenge = check(self.request("POST", f"{IDENTITY}/me/step-up/certificate/challenge"))
        signed = self.sign(base64.b64decode(challenge["document"]))
        check(
            self.request(
                "POST",
                f"{IDENTITY}/me/step-up/certificate",
                json={"challenge_id": challenge["challenge_id"], "signed_data": signed},
            )
        )

    def sign(self, document: bytes) -> str:
        assert self.key is not None and self.certificate_pem is not None
        signed = sign_document(
            document, certificate_pem=self.certificate_pem, key=self.key, signing_time=self.now()
        )
        return base64.b64encode(signed).decode()

    # --- the journey ----------------------------------------------------------------------------

    def apply(self, client_id: str) -> None:
        check(self.request("POST", f"{PORTAL}/memberships", json={"client_id": client_id}), 201)

    def firm_accounts(self, firm: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = check(self.request("GET", f"{PORTAL}/firms/{firm}/accounts"))
        return listed

    def issue(self, firm: str, account_number: str, alias: str = "") -> str:
        issued = check(
            self.request(
                "POST",
                f"{PORTAL}/virtual-accounts",
                json={"firm": firm, "account_number": account_number, "alias": alias},
            ),
            201,
        )
        number: str = issued["number"]
        return number

    def sign_platform_consent(self, firm: str) -> dict[str, Any]:
        started = check(
            self.request("POST", f"{PORTAL}/consent-requests/platform-firm", json={"firm": firm}), 201
        )
        made = check(
            self.request(
                "POST",
                f"{PORTAL}/consent-requests/{started['request_id']}/complete",
                json={"signed_data": self.sign(base64.b64decode(started["document"]))},
            ),
            201,
        )
        consent: dict[str, Any] = made[0]
        return consent

    def link(self, client_id: str, numbers: list[str]) -> None:
        check(
            self.request(
                "PUT", f"{PORTAL}/memberships/{client_id}/accounts", json={"virtual_account_numbers": numbers}
            )
        )

    def sign_fintech_consent(self, client_id: str) -> list[dict[str, Any]]:
        started = check(
            self.request(
                "POST",
                f"{PORTAL}/consent-requests/fintech-firm",
                json={"client_id": client_id, "method": "certificate"},
            ),
            201,
        )
        made: list[dict[str, Any]] = check(
            self.request(
                "POST",
                f"{PORTAL}/consent-requests/{started['request_id']}/complete",
                json={"signed_data": self.sign(base64.b64decode(started["document"]))},
            ),
            201,
        )
        return made

    def consents(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = check(self.request("GET", f"{PORTAL}/consents"))
        return found

    def revoke(self, consent_id: str) -> None:
        check(self.request("POST", f"{PORTAL}/consents/{consent_id}/revoke"))

    def authorize(
        self, client_id: str, challenge: str, *, state: str = "xyz", redirect_uri: str = REDIRECT_URI
    ) -> Any:
        return self.request(
            "GET",
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": "account.read watchlist.read",
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            follow_redirects=False,
        )


def code_from(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class FintechApp:
    client_id: str
    client_secret: str
    company_key: str
    tokens: dict[str, Any] = field(default_factory=dict)


def register_app(client: Any, *, index: int = 0, approve: bool = True, name: str = "머니로그") -> FintechApp:
    company = check(
        client.post(
            f"{BUSINESS}/companies",
            json={
                "name": f"{name} 주식회사",
                "business_number": business_number(index),
                "email": f"dev{index}@example.com",
            },
        ),
        201,
    )
    key = company["api_key"]
    registered = check(
        client.post(
            f"{BUSINESS}/apps",
            json={
                "name": name,
                "description": "자산관리 앱",
                "redirect_uris": [REDIRECT_URI],
                "scopes": ["account.read", "watchlist.read", "market.read"],
            },
            headers={"Authorization": f"Bearer {key}"},
        ),
        201,
    )
    client_id = registered["app"]["client_id"]
    if approve:
        check(
            client.post(f"{BUSINESS}/apps/{client_id}/production", headers={"Authorization": f"Bearer {key}"})
        )
        check(
            client.post(
                f"{OPERATOR}/apps/{client_id}/approve",
                json={"daily_quota": 1_000_000, "burst_limit_per_second": 10_000},
                headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
            )
        )
    return FintechApp(client_id=client_id, client_secret=registered["client_secret"], company_key=key)


def register_firm(client: Any, code: str, **extra: Any) -> None:
    body = {
        "code": code,
        "name_ko": f"{code}증권",
        "name_en": f"{code} Securities",
        "adapter": "backbone",
        **extra,
    }
    check(
        client.post(f"{OPERATOR}/firms", json=body, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}),
        201,
    )


def exchange_code(
    client: Any, app: FintechApp, code: str, verifier: str | None, redirect_uri: str = REDIRECT_URI
) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    return client.post("/oauth/token", data=form, auth=(app.client_id, app.client_secret))
