"""A small open-platform world over HTTP (TestClient) on both databases: two firms on the
brokerage core, two members with accounts at both, and two approved fintech apps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from backbone.app import create_app
from backbone.bootstrap import Container
from backbone.brokerage.domain import Account, AccountType
from backbone.identity.personal_identifier import development_personal_identifier
from backbone.kit.money import Quantity, Won
from tests import builders
from tests.open_platform.journey import Browser, FintechApp, register_app, register_firm


@dataclass(frozen=True)
class Person:
    name: str
    birth_date: date
    phone: str
    email: str

    @property
    def personal_identifier(self) -> str:
        return development_personal_identifier(self.name, self.birth_date, self.phone)


ALICE = Person("김서연", date(1988, 3, 14), "010-2345-1001", "seoyeon@example.com")
BOB = Person("이도윤", date(1991, 7, 2), "010-2345-1002", "doyun@example.com")


def open_accounts(
    container: Container, person: Person, firm: str, *, cash: int, shares: dict[str, int]
) -> Account:
    with container.database.transaction() as session:
        customer = container.brokerage.register_customer(
            session,
            firm_code=firm,
            name=person.name,
            birth_date=person.birth_date,
            phone=person.phone,
            personal_identifier=person.personal_identifier,
        )
        account = container.brokerage.open_account(
            session, customer_id=customer.id, account_type=AccountType.GENERAL
        )
        container.brokerage.deposit(
            session, account=account, amount=Won(cash), idempotency_key=builders.key("cash")
        )
        for code, quantity in shares.items():
            container.brokerage.deliver_securities(
                session,
                account=account,
                instrument=code,
                quantity=Quantity.shares(quantity),
                unit_cost_won=container.instruments[code].base_price * 9 // 10,
                idempotency_key=builders.key("in"),
            )
        container.watchlists.create_group(session, customer.id, "반도체", ["005930", "000660"])
    return account


@dataclass
class World:
    container: Container
    client: TestClient
    alice: Browser
    bob: Browser
    app_a: FintechApp
    app_b: FintechApp
    accounts: dict[str, Account]  # "alice.HNB" → the real account

    def browser(self) -> Browser:
        return Browser(
            client=TestClient(self.client.app, base_url="https://testserver"), now=self.container.clock.now
        )


@pytest.fixture
def world(container: Container) -> Iterator[World]:
    with container.database.transaction() as session:
        builders.firm(container, session, code="HNB")
        builders.firm(container, session, code="SSL", pattern="NNNNNNNC-PP")
    accounts = {
        "alice.HNB": open_accounts(
            container, ALICE, "HNB", cash=5_000_000, shares={"005930": 10, "000660": 3}
        ),
        "alice.SSL": open_accounts(container, ALICE, "SSL", cash=1_200_000, shares={"035420": 7}),
        "bob.HNB": open_accounts(container, BOB, "HNB", cash=9_900_000, shares={"005380": 4}),
    }
    app = create_app(container)
    with TestClient(app, base_url="https://testserver") as client:
        register_firm(client, "HNB")
        register_firm(client, "SSL")
        app_a = register_app(client, index=0, name="머니로그")
        app_b = register_app(client, index=1, name="자산비서")
        browsers = []
        for person in (ALICE, BOB):
            browser = Browser(client=TestClient(app, base_url="https://testserver"), now=container.clock.now)
            browser.sign_up(
                name=person.name,
                birth_date=person.birth_date.isoformat(),
                phone=person.phone,
                email=person.email,
            )
            browser.certify()
            browsers.append(browser)
        yield World(container, client, browsers[0], browsers[1], app_a, app_b, accounts)
        for browser in browsers:
            browser.client.close()
