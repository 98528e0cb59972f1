"""The order chain over real HTTP against `backbone serve` on a simulated clock: a deposit, a buy
with a partial fill, the rest cancelled, a sale, T+2 settlement and a withdrawal — every balance
checked at every step, fees and tax to the won (commission 0.015% cut below 10 won per fill,
transaction tax 0.20% on sales cut below 1 won)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
import pytest

from tests.conftest import OPERATOR_TOKEN
from tests.e2e.conftest import Server
from tests.e2e.members import Member

BACK_OFFICE = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
DEPOSIT = 10_000_000


def commission(gross: int) -> int:
    raw = gross * 150 // 1_000_000
    return raw - raw % 10


def tax(gross: int) -> int:
    return gross * 2_000 // 1_000_000


def buy_hold(price: int, quantity: int) -> int:
    return price * quantity + commission(price * quantity)


@pytest.fixture
def operator(market_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{market_server.url}/api/backoffice/v1", headers=BACK_OFFICE, timeout=30
    ) as client:
        firm = client.post(
            "/firms",
            json={
                "code": "E2E",
                "name_ko": "이투이증권",
                "name_en": "E2E Securities",
                "account_number_pattern": "BBB-PP-NNNNNC",
                "branch": 7,
                "commission_ppm": 150,
            },
        )
        assert firm.status_code == 201, firm.text
        yield client


def open_account(operator: httpx.Client, member: Member) -> str:
    customer = operator.post(
        "/firms/E2E/customers",
        json={
            "name": member.name,
            "birth_date": member.birth_date.isoformat(),
            "phone": member.phone,
            "personal_identifier": member.personal_identifier,
        },
    )
    assert customer.status_code == 201, customer.text
    opened = operator.post(f"/firms/E2E/customers/{customer.json()['id']}/accounts", json={})
    assert opened.status_code == 201, opened.text
    number: str = opened.json()["number"]
    return number


def balance(member: Member, account_id: int) -> dict[str, Any]:
    response = member.get(f"/api/v1/brokerage/accounts/{account_id}/balance")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cash(member: Member, account_id: int) -> tuple[int, int, int, int, int]:
    body = balance(member, account_id)
    return (
        body["cash_won"],
        body["cash_next_day_won"],
        body["cash_second_day_won"],
        body["buying_power_won"],
        body["cash_held_won"],
    )


def place(member: Member, account_id: int, key: str, **order: Any) -> dict[str, Any]:
    response = member.post(
        f"/api/v1/brokerage/accounts/{account_id}/orders", order, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def advance(operator: httpx.Client, seconds: int, *members: Member) -> dict[str, Any]:
    """Move the market's clock on; the members, whose sessions went idle meanwhile, log in again."""
    response = operator.post("/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    for member in members:
        member.log_in()
    body: dict[str, Any] = response.json()
    return body


def test_deposit_partial_fill_cancel_sale_and_t_plus_2_settlement(
    market_server: Server, operator: httpx.Client
) -> None:
    buyer = Member(market_server.url, name="박매수", birth_date=date(1985, 3, 2), phone="010-5555-0001")
    seller = Member(market_server.url, name="최매도", birth_date=date(1979, 11, 30), phone="010-5555-0002")
    for member in (buyer, seller):
        member.sign_up()
    buyer_number = open_account(operator, buyer)
    seller_number = open_account(operator, seller)
    for number, amount, key in ((buyer_number, DEPOSIT, "bank-1"), (seller_number, 1_000_000, "bank-2")):
        deposited = operator.post(
            f"/firms/E2E/accounts/{number}/deposits",
            json={"amount_won": amount},
            headers={"Idempotency-Key": key},
        )
        assert deposited.status_code == 201, deposited.text
    delivered = operator.post(
        f"/firms/E2E/accounts/{seller_number}/securities-in",
        json={"instrument": "005930", "quantity": 100, "unit_cost_won": 70_000},
        headers={"Idempotency-Key": "transfer-in-1"},
    )
    assert delivered.status_code == 201, delivered.text
    (buyer_account,) = buyer.get("/api/v1/brokerage/accounts").json()
    (seller_account,) = seller.get("/api/v1/brokerage/accounts").json()
    buyer_id, seller_id = buyer_account["id"], seller_account["id"]
    assert cash(buyer, buyer_id) == (DEPOSIT, DEPOSIT, DEPOSIT, DEPOSIT, 0)

    assert advance(operator, 3_600, buyer, seller)["phase"] == "continuous"  # Monday 09:00

    resting = place(seller, seller_id, "s-1", instrument="005930", side="sell", price=71_500, quantity=10)
    assert resting["status"] == "accepted"

    # A buy of 30 meets 10 on offer: filled in part.
    bought = place(buyer, buyer_id, "b-1", instrument="005930", side="buy", price=71_500, quantity=30)
    assert (bought["status"], bought["filled_quantity"], bought["open_quantity"]) == (
        "partially_filled",
        10,
        20,
    )
    gross_1, commission_1 = 715_000, commission(715_000)
    held = buy_hold(71_500, 20)
    assert cash(buyer, buyer_id) == (
        DEPOSIT - commission_1,  # 예수금: the value leaves at settlement, the commission now
        DEPOSIT - commission_1,  # D+1: nothing settles tomorrow
        DEPOSIT - commission_1 - gross_1,  # D+2
        DEPOSIT - commission_1 - gross_1 - held,  # buying power
        held,
    )
    proceeds_1 = gross_1 - commission(gross_1) - tax(gross_1)
    assert cash(seller, seller_id) == (1_000_000, 1_000_000, 1_000_000 + proceeds_1, 1_000_000, 0)

    # The rest is cancelled: the hold comes back.
    cancelled = buyer.post(f"/api/v1/brokerage/accounts/{buyer_id}/orders/{bought['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancelled_quantity"]) == ("cancelled", 20)
    after_buy = DEPOSIT - commission_1 - gross_1
    assert cash(buyer, buyer_id) == (DEPOSIT - commission_1, DEPOSIT - commission_1, after_buy, after_buy, 0)
    refused = buyer.post(f"/api/v1/brokerage/accounts/{buyer_id}/orders/{bought['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["code"] == "order.not_open"

    # The buyer sells 4 of the 10 at 72,000 to the seller's resting bid.
    bid = place(seller, seller_id, "s-2", instrument="005930", side="buy", price=72_000, quantity=4)
    assert bid["status"] == "accepted"
    sold = place(buyer, buyer_id, "b-2", instrument="005930", side="sell", price=72_000, quantity=4)
    assert sold["status"] == "filled"
    gross_2 = 288_000
    proceeds_2 = gross_2 - commission(gross_2) - tax(gross_2)
    assert cash(buyer, buyer_id) == (
        DEPOSIT - commission_1,
        DEPOSIT - commission_1,
        after_buy + proceeds_2,
        after_buy,  # sale proceeds are usable once they settle
        0,
    )
    seller_today = 1_000_000 - commission(gross_2)
    assert cash(seller, seller_id) == (
        seller_today,
        seller_today,
        seller_today - gross_2 + proceeds_1,
        1_000_000 - buy_hold(72_000, 4),
        0,
    )
    positions = {position["instrument"]: position for position in balance(buyer, buyer_id)["positions"]}
    assert (positions["005930"]["quantity"], positions["005930"]["average_price_won"]) == ("6", 71_500)

    # Wednesday: the day's opening settles Monday's trades (T+2).
    session = advance(operator, 2 * 86_400, buyer, seller)
    assert (session["phase"], session["trading_day"]) == ("continuous", "2026-11-25")
    buyer_settled = after_buy + proceeds_2
    assert cash(buyer, buyer_id) == (buyer_settled, buyer_settled, buyer_settled, buyer_settled, 0)
    seller_settled = seller_today - gross_2 + proceeds_1
    assert cash(seller, seller_id) == (seller_settled, seller_settled, seller_settled, seller_settled, 0)
    seller_positions = {
        position["instrument"]: position for position in balance(seller, seller_id)["positions"]
    }
    # 100 at 70,000, 10 sold at average cost, 4 bought at 72,000: (6,300,000 + 288,000) / 94.
    assert seller_positions["005930"]["quantity"] == "94"
    assert seller_positions["005930"]["average_price_won"] == (6_300_000 + 288_000) // 94

    # A withdrawal below the step-up threshold needs only the session.
    withdrawn = buyer.post(
        f"/api/v1/brokerage/accounts/{buyer_id}/withdrawals",
        {"amount_won": 500_000},
        headers={"Idempotency-Key": "w-1"},
    )
    assert withdrawn.status_code == 201, withdrawn.text
    assert cash(buyer, buyer_id)[0] == buyer_settled - 500_000

    history = buyer.get(f"/api/v1/brokerage/accounts/{buyer_id}/transactions").json()["items"]
    assert [item["kind"] for item in history] == ["withdrawal", "sell", "buy", "deposit"]
    assert [item["cash_won"] for item in history] == [
        -500_000,
        proceeds_2,
        -(gross_1 + commission_1),
        DEPOSIT,
    ]
    for member in (buyer, seller):
        member.close()


def test_an_order_on_someone_elses_account_is_refused_and_changes_nothing(
    market_server: Server, operator: httpx.Client
) -> None:
    owner = Member(market_server.url, name="정주인", birth_date=date(1990, 1, 1), phone="010-5555-0003")
    stranger = Member(market_server.url, name="한남이", birth_date=date(1991, 2, 2), phone="010-5555-0004")
    for member in (owner, stranger):
        member.sign_up()
    number = open_account(operator, owner)
    operator.post(
        f"/firms/E2E/accounts/{number}/deposits",
        json={"amount_won": 1_000_000},
        headers={"Idempotency-Key": "d"},
    )
    (account,) = owner.get("/api/v1/brokerage/accounts").json()
    advance(operator, 3_600, owner, stranger)
    attempt = stranger.post(
        f"/api/v1/brokerage/accounts/{account['id']}/orders",
        {"instrument": "005930", "side": "buy", "price": 71_500, "quantity": 1},
        headers={"Idempotency-Key": "x"},
    )
    assert attempt.status_code == 404
    assert attempt.json()["code"] == "brokerage.unknown_account"
    assert stranger.get(f"/api/v1/brokerage/accounts/{account['id']}/balance").status_code == 404
    assert stranger.get("/api/v1/brokerage/accounts").json() == []
    assert cash(owner, account["id"]) == (1_000_000, 1_000_000, 1_000_000, 1_000_000, 0)
    unauthenticated = httpx.get(f"{market_server.url}/api/v1/brokerage/accounts/{account['id']}/balance")
    assert unauthenticated.status_code == 401
    for member in (owner, stranger):
        member.close()


def test_two_clients_of_one_member_at_once_never_overspend(
    market_server: Server, operator: httpx.Client
) -> None:
    member = Member(market_server.url, name="윤동시", birth_date=date(1988, 8, 8), phone="010-5555-0005")
    member.sign_up()
    number = open_account(operator, member)
    operator.post(
        f"/firms/E2E/accounts/{number}/deposits",
        json={"amount_won": 1_000_000},
        headers={"Idempotency-Key": "d"},
    )
    advance(operator, 3_600, member)
    (account,) = member.get("/api/v1/brokerage/accounts").json()
    barrier = threading.Barrier(2)

    def client(number: int) -> list[int]:
        with httpx.Client(base_url=market_server.url, cookies=member.client.cookies, timeout=60) as other:
            barrier.wait()
            return [
                other.post(
                    f"/api/v1/brokerage/accounts/{account['id']}/orders",
                    json={"instrument": "005930", "side": "buy", "price": 71_500, "quantity": 1},
                    headers={
                        "Idempotency-Key": f"c{number}-{index}",
                        "X-CSRF-Token": member.client.cookies.get("backbone_csrf") or "",
                    },
                ).status_code
                for index in range(12)
            ]

    with ThreadPoolExecutor(2) as pool:
        statuses = [status for result in pool.map(client, range(2)) for status in result]
    assert statuses.count(201) == 13  # 1,000,000 // (71,500 + 10 won commission)
    assert statuses.count(409) == 11
    body = balance(member, account["id"])
    assert body["cash_held_won"] == 13 * 71_510
    assert body["buying_power_won"] == 1_000_000 - 13 * 71_510
    member.close()
