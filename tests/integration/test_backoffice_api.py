"""The back-office API in process (FastAPI's TestClient over real ASGI), on both databases:
every refusal is problem+json with a stable code and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backbone.app import create_app
from backbone.bootstrap import Container
from backbone.brokerage.domain import AccountNumberFormat
from tests import builders
from tests.conftest import OPERATOR_TOKEN

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
_FORMAT = AccountNumberFormat("BBB-PP-NNNNNC")
UNUSED_NUMBER = _FORMAT.display(
    _FORMAT.compose(branch=1, product_code="01", serial=99_999)
)  # valid, never opened


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture
def number(container: Container) -> str:
    with container.database.transaction() as session:
        builders.firm(container, session)
        return builders.account(container, session, cash=1_000_000).display_number


def base(number: str) -> str:
    return f"/api/backoffice/v1/firms/TST/accounts/{number}"


def balance(client: TestClient, number: str) -> int:
    response = client.get(f"{base(number)}/balance", headers=AUTH)
    assert response.status_code == 200
    cash: int = response.json()["cash_won"]
    return cash


def test_without_the_operator_token_nothing_is_served(client: TestClient, number: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": OPERATOR_TOKEN}):
        response = client.get(f"{base(number)}/balance", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "backbone.unauthorized"


def test_a_deposit_retried_with_its_key_is_applied_once(client: TestClient, number: str) -> None:
    headers = {**AUTH, "Idempotency-Key": "bank-ref-1"}
    first = client.post(f"{base(number)}/deposits", json={"amount_won": 50_000}, headers=headers)
    second = client.post(f"{base(number)}/deposits", json={"amount_won": 50_000}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert balance(client, number) == 1_050_000
    reused = client.post(f"{base(number)}/deposits", json={"amount_won": 60_000}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["code"] == "ledger.idempotency_key_reused"
    assert balance(client, number) == 1_050_000


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount_won": 0}, 422, "ledger.amount_not_positive"),
        ({"amount_won": -1000}, 422, "ledger.amount_not_positive"),
        ({"amount_won": 1500.5}, 422, "request.invalid"),
        ({"amount_won": "1500"}, 422, "request.invalid"),
        ({"amount_won": 10**16}, 422, "backbone.amount_out_of_range"),
        ({"amount_won": 10**30}, 422, "backbone.amount_out_of_range"),
        ({"amount_won": 5_000_000}, 409, "brokerage.exceeds_withdrawable"),
        ({"amount_won": 100, "currency": "USD"}, 422, "request.invalid"),
        ({}, 422, "request.invalid"),
    ],
)
def test_bad_withdrawals_are_refused_with_a_stable_code_and_change_nothing(
    client: TestClient, number: str, body: dict[str, object], status: int, code: str
) -> None:
    response = client.post(
        f"{base(number)}/withdrawals", json=body, headers={**AUTH, "Idempotency-Key": builders.key()}
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"/problems/{code}"
    assert problem["status"] == status
    assert balance(client, number) == 1_000_000


def test_a_money_movement_without_an_idempotency_key_is_refused(client: TestClient, number: str) -> None:
    response = client.post(f"{base(number)}/deposits", json={"amount_won": 1}, headers=AUTH)
    assert response.json()["code"] == "backbone.idempotency_key_missing"
    assert balance(client, number) == 1_000_000


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/backoffice/v1/firms/NONE/accounts/001-01-000011/balance", "brokerage.unknown_firm"),
        ("/api/backoffice/v1/firms/TST/accounts/12-34/balance", "brokerage.invalid_account_number"),
        (f"/api/backoffice/v1/firms/TST/accounts/{UNUSED_NUMBER}/balance", "brokerage.unknown_account"),
    ],
)
def test_unknown_or_malformed_accounts_are_refused(
    client: TestClient, number: str, path: str, code: str
) -> None:
    assert client.get(path, headers=AUTH).json()["code"] == code


def test_transfers_of_an_unknown_asset_or_mismatched_amount_kind_are_refused(
    client: TestClient, container: Container, number: str
) -> None:
    with container.database.transaction() as session:
        other = builders.account(container, session, name="이서연").display_number
    cases = [
        ({"to_account": other, "asset": "NOPE", "quantity": 1}, "brokerage.unknown_instrument"),
        ({"to_account": other, "asset": "KRW", "quantity": 1}, "backbone.invalid_input"),
        ({"to_account": other, "asset": "005930", "amount_won": 1}, "backbone.invalid_input"),
        ({"to_account": other, "asset": "005930", "quantity": 1}, "ledger.insufficient_funds"),
    ]
    for body, code in cases:
        response = client.post(
            f"{base(number)}/transfers", json=body, headers={**AUTH, "Idempotency-Key": builders.key()}
        )
        assert response.json()["code"] == code, body
    moved = client.post(
        f"{base(number)}/transfers",
        json={"to_account": other, "amount_won": 250_000},
        headers={**AUTH, "Idempotency-Key": builders.key()},
    )
    assert moved.status_code == 201
    assert (balance(client, number), balance(client, other)) == (750_000, 250_000)


def test_history_pages_and_rejects_bad_ranges_and_cursors(client: TestClient, number: str) -> None:
    for index in range(3):
        client.post(
            f"{base(number)}/deposits",
            json={"amount_won": 1_000 + index},
            headers={**AUTH, "Idempotency-Key": f"h{index}"},
        )
    page = client.get(f"{base(number)}/transactions", params={"limit": 2}, headers=AUTH).json()
    assert [item["amount_won"] for item in page["items"]] == [1_002, 1_001]
    rest = client.get(
        f"{base(number)}/transactions", params={"limit": 2, "cursor": page["next_cursor"]}, headers=AUTH
    )
    assert [item["amount_won"] for item in rest.json()["items"]] == [1_000, 1_000_000]
    for params, code in (
        ({"from": "2026-12-01", "to": "2026-11-01"}, "backbone.invalid_date_range"),
        ({"from": "2020-01-01", "to": "2026-11-01"}, "backbone.invalid_date_range"),
        ({"from": "2026-13-01"}, "request.invalid"),
        ({"cursor": "garbage!"}, "backbone.invalid_cursor"),
        ({"limit": 100_000}, "backbone.page_size_out_of_range"),
        ({"kind": "robbery"}, "request.invalid"),
    ):
        response = client.get(f"{base(number)}/transactions", params=params, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["code"] == code, params


def test_unknown_routes_oversized_bodies_and_the_problem_catalogue(client: TestClient, number: str) -> None:
    assert client.get("/api/nowhere").json()["code"] == "http.not_found"
    huge = client.post(
        f"{base(number)}/deposits",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={**AUTH, "Idempotency-Key": "big", "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "http.payload_too_large"
    catalogue = {entry["code"] for entry in client.get("/problems").json()}
    assert {
        "ledger.insufficient_funds",
        "brokerage.exceeds_withdrawable",
        "backbone.invalid_cursor",
    } <= catalogue
    assert client.get("/problems/ledger.insufficient_funds").json()["status"] == 409
    assert balance(client, number) == 1_000_000


def test_instruments_are_listed_and_searched(client: TestClient) -> None:
    samsung = client.get("/api/v1/market/instruments/005930").json()
    assert samsung["isin"] == "KR7005930003"
    assert (samsung["price_limit_lower"], samsung["price_limit_upper"]) == (50_100, 92_900)
    found = client.get("/api/v1/market/instruments", params={"q": "하이닉스"}).json()
    assert [item["code"] for item in found] == ["000660"]
    kosdaq = client.get("/api/v1/market/instruments", params={"market": "KOSDAQ"}).json()
    assert kosdaq
    assert all(item["market"] == "KOSDAQ" for item in kosdaq)
    assert client.get("/api/v1/market/instruments/999999").json()["code"] == "market.unknown_instrument"
