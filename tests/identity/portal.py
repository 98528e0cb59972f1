"""A portal client over HTTP (FastAPI's TestClient): the sign-up journey and logins as a browser
makes them, keeping cookies and sending the CSRF header."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx  # what starlette.testclient returns
from fastapi.testclient import TestClient

from backbone.bootstrap import Container
from backbone.identity.dependencies import CSRF_COOKIE, CSRF_HEADER
from tests.identity import flows

API = "/api/v1/identity"


@dataclass
class Portal:
    client: TestClient
    container: Container
    responses: list[httpx.Response] = field(default_factory=list)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        csrf = self.client.cookies.get(CSRF_COOKIE)
        if csrf and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            headers.setdefault(CSRF_HEADER, csrf)
        response: httpx.Response = self.client.request(method, f"{API}{path}", headers=headers, **kwargs)
        self.responses.append(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def outbox(self, to: str, channel: str = "sms") -> list[dict[str, Any]]:
        response = self.get("/dev/outbox", params={"to": to, "channel": channel})
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()
        return messages

    def latest_code(self, phone: str = flows.PHONE) -> str:
        match = flows.CODE_PATTERN.search(self.outbox(phone)[-1]["body"])
        assert match is not None
        return match.group(1)

    def sign_up(
        self, *, name: str = flows.NAME, phone: str = flows.PHONE, email: str = flows.EMAIL
    ) -> dict[str, Any]:
        started = self.post("/signup", json={"accepted_terms": flows.all_terms()})
        assert started.status_code == 201, started.text
        sent = self.post(
            "/signup/code", json={"name": name, "birth_date": flows.BIRTH_DATE.isoformat(), "phone": phone}
        )
        assert sent.status_code == 200, sent.text
        confirmed = self.post("/signup/code/confirm", json={"code": self.latest_code(phone)})
        assert confirmed.status_code == 200, confirmed.text
        completed = self.post("/signup/complete", json={"email": email})
        assert completed.status_code == 201, completed.text
        member: dict[str, Any] = completed.json()
        return member

    def set_pin(self, pin: str = flows.PIN) -> None:
        response = self.request("PUT", "/me/pin", json={"pin": pin})
        assert response.status_code == 204, response.text

    def login_with_pin(self, *, phone: str = flows.PHONE, pin: str = flows.PIN) -> httpx.Response:
        return self.post("/sessions/pin", json={"phone": phone, "pin": pin})

    def logout(self) -> None:
        response = self.request("DELETE", "/session")
        assert response.status_code == 204, response.text


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
