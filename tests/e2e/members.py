"""A member signed up over real HTTP, the way a browser does it: terms, the SMS code read from the
development outbox, details; the session cookie and CSRF header kept for later requests."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx

from backbone.identity.domain import TERMS
from backbone.identity.personal_identifier import development_personal_identifier

CODE = re.compile(r"\[(\d{6})\]")
PIN = "739146"


class Member:
    def __init__(self, url: str, *, name: str, birth_date: date, phone: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        self.name = name
        self.birth_date = birth_date
        self.phone = phone

    @property
    def personal_identifier(self) -> str:
        return development_personal_identifier(self.name, self.birth_date, self.phone)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-CSRF-Token": self.client.cookies.get("backbone_csrf") or "", **(extra or {})}

    def post(self, path: str, body: Any = None, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(path, json=body, headers=self._headers(headers))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def sign_up(self) -> None:
        identity = "/api/v1/identity"
        terms = {term.code: term.version for term in TERMS}
        assert self.post(f"{identity}/signup", {"accepted_terms": terms}).status_code == 201
        sent = self.post(
            f"{identity}/signup/code",
            {"name": self.name, "birth_date": self.birth_date.isoformat(), "phone": self.phone},
        )
        assert sent.status_code == 200, sent.text
        messages = self.get(f"{identity}/dev/outbox", params={"to": self.phone, "channel": "sms"}).json()
        match = CODE.search(messages[-1]["body"])
        assert match is not None, messages
        assert self.post(f"{identity}/signup/code/confirm", {"code": match.group(1)}).status_code == 200
        joined = self.post(f"{identity}/signup/complete", {"email": f"{self.phone[-4:]}@example.com"})
        assert joined.status_code == 201, joined.text
        pin = self.client.put(f"{identity}/me/pin", json={"pin": PIN}, headers=self._headers())
        assert pin.status_code in (200, 204), pin.text

    def log_in(self) -> None:
        """A fresh session by PIN: sessions end after 30 idle minutes, and a simulated clock jumps."""
        opened = self.post("/api/v1/identity/sessions/pin", {"phone": self.phone, "pin": PIN})
        assert opened.status_code in (200, 201), opened.text

    def close(self) -> None:
        self.client.close()
