"""A market for the trading screen's browser tests and screenshots: a portal that runs the market
on a simulated clock (Monday 08:00 in Seoul, moved to the 09:00 open by the back office), a firm,
and investors signed up over the API with accounts, cash and shares, who trade over the API too.

The person in the browser logs in with the same phone and PIN the API sign-up gave them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import OPERATOR_TOKEN
from tests.e2e.members import PIN, Member
from tests.e2e.web.harness import Portal, running_portal
from tests.e2e.web.journeys import Person, new_person

MONDAY_BEFORE_THE_OPEN = "2026-11-23T08:00:00+09:00"
SECONDS_TO_THE_OPEN = 3_600
FIRM = "WTS"
MARKET_ENVIRONMENT = {
    "BACKBONE_SIMULATED_CLOCK_START": MONDAY_BEFORE_THE_OPEN,
    "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
    # The API-side investors use httpx, which keeps Secure cookies only over https.
    "BACKBONE_COOKIE_SECURE": "false",
}


@dataclass(frozen=True)
class Investor:
    """A member with one account at the firm, usable over the API and in the browser."""

    member: Member
    person: Person
    account_id: int

    def place(self, key: str, **order: Any) -> dict[str, Any]:
        response = self.member.post(
            f"/api/v1/brokerage/accounts/{self.account_id}/orders", order, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def balance(self) -> dict[str, Any]:
        response = self.member.get(f"/api/v1/brokerage/accounts/{self.account_id}/balance")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def open_orders(self) -> list[dict[str, Any]]:
        response = self.member.get(
            f"/api/v1/brokerage/accounts/{self.account_id}/orders", params={"open": True}
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


class Market:
    """The back office of a running market portal."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.operator = httpx.Client(
            base_url=f"{portal.url}/api/backoffice/v1",
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
            timeout=30,
        )
        self._keys = 0
        self._members: list[Member] = []  # closed with the market: an unclosed client warns

    def _key(self) -> str:
        self._keys += 1
        return f"wts-{self._keys}"

    def open(self) -> None:
        firm = self.operator.post(
            "/firms",
            json={
                "code": FIRM,
                "name_ko": "백본증권",
                "name_en": "Backbone Securities",
                "account_number_pattern": "BBB-PP-NNNNNC",
                "branch": 1,
                "commission_ppm": 150,
            },
        )
        assert firm.status_code == 201, firm.text
        session = self.operator.post("/clock/advance", json={"seconds": SECONDS_TO_THE_OPEN})
        assert session.status_code == 200, session.text
        assert session.json()["phase"] == "continuous", session.text

    def investor(self, name: str, *, cash_won: int, shares: dict[str, int] | None = None) -> Investor:
        person = new_person(name)
        assert person.pin == PIN
        member = Member(self.portal.url, name=name, birth_date=date(1990, 5, 17), phone=person.phone)
        self._members.append(member)
        member.sign_up()
        customer = self.operator.post(
            f"/firms/{FIRM}/customers",
            json={
                "name": name,
                "birth_date": "1990-05-17",
                "phone": person.phone,
                "personal_identifier": member.personal_identifier,
            },
        )
        assert customer.status_code == 201, customer.text
        opened = self.operator.post(f"/firms/{FIRM}/customers/{customer.json()['id']}/accounts", json={})
        assert opened.status_code == 201, opened.text
        number = opened.json()["number"]
        deposited = self.operator.post(
            f"/firms/{FIRM}/accounts/{number}/deposits",
            json={"amount_won": cash_won},
            headers={"Idempotency-Key": self._key()},
        )
        assert deposited.status_code == 201, deposited.text
        for instrument, quantity in (shares or {}).items():
            delivered = self.operator.post(
                f"/firms/{FIRM}/accounts/{number}/securities-in",
                json={"instrument": instrument, "quantity": quantity, "unit_cost_won": 60_000},
                headers={"Idempotency-Key": self._key()},
            )
            assert delivered.status_code == 201, delivered.text
        (account,) = member.get("/api/v1/brokerage/accounts").json()
        return Investor(member=member, person=person, account_id=account["id"])

    def advance(self, seconds: int) -> None:
        moved = self.operator.post("/clock/advance", json={"seconds": seconds})
        assert moved.status_code == 200, moved.text

    def close(self) -> None:
        for member in self._members:
            member.close()
        self.operator.close()


def seed_lively_book(market: Market, instrument: str, base_price: int, tick: int) -> None:
    """A morning's trading in one instrument: a few trades a minute for a dozen minutes (candles,
    the tape), then ten levels resting on each side of the book around the last price."""
    bidder = market.investor("오매수", cash_won=900_000_000)
    asker = market.investor("윤매도", cash_won=10_000_000, shares={instrument: 50_000})
    for minute, step in enumerate((-2, 1, -1, 3, 2, 0, 4, 1, -3, 2, 5, 3)):
        market.advance(60)
        for trade, wiggle in enumerate((0, 2, -2, 1)):
            price = base_price + (step + wiggle) * tick
            quantity = 40 + (minute * 53 + trade * 31) % 170
            first, second = (asker, bidder) if (minute + trade) % 2 else (bidder, asker)
            for trader in (first, second):
                side = "sell" if trader is asker else "buy"
                key = f"tape-{minute}-{trade}-{side}"
                trader.place(key, instrument=instrument, side=side, price=price, quantity=quantity)
    for level in range(10):
        quantity = 20 + (level * 61) % 230
        ask_price, bid_price = base_price + (level + 5) * tick, base_price + (3 - level) * tick
        asker.place(f"ask-{level}", instrument=instrument, side="sell", price=ask_price, quantity=quantity)
        bidder.place(
            f"bid-{level}", instrument=instrument, side="buy", price=bid_price, quantity=quantity + 15
        )


@contextmanager
def running_market(directory: Path) -> Iterator[Market]:
    with running_portal(directory, overrides=MARKET_ENVIRONMENT) as portal:
        market = Market(portal)
        try:
            market.open()
            yield market
        finally:
            market.close()
