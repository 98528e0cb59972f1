"""Bad input to the open API: malformed and unknown virtual account numbers, cursors and dates;
expired, foreign and tampered tokens; oversized pages. Each is a problem+json with a stable code,
never a 5xx, and never carries another member's data."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from backbone.kit.clock import SimulatedClock
from backbone.open_platform.oauth.domain import ACCESS_TOKEN_TTL_S
from backbone.open_platform.virtual_accounts.domain import new_number
from tests.integration.open_platform.conftest import BOB, World
from tests.integration.open_platform.test_journey_and_api import bearer, complete_journey, tokens_for

RESOURCES = ("balance", "transactions", "portfolio", "watchlist")


@pytest.fixture
def reader(world: World) -> dict[str, Any]:
    """Alice's HNB account linked to app A; Bob's HNB account linked to app A too."""
    alice = complete_journey(world.alice, world.app_a, ["HNB"])[0]
    bob = complete_journey(world.bob, world.app_a, ["HNB"])[0]
    return {"alice": alice, "bob": bob, "tokens": tokens_for(world, world.alice, world.app_a)}


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    return body


def bob_leaks(world: World, response: Any) -> bool:
    """Anything of Bob's beyond the number the caller itself sent (which `instance` echoes)."""
    text = response.text
    return BOB.name in text or world.accounts["bob.HNB"].number in text or "cash_won" in text


def test_malformed_and_unknown_virtual_account_numbers(world: World, reader: dict[str, Any]) -> None:
    good = reader["alice"]
    wrong_check_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    malformed = [
        "abc",
        "12345",
        good + "0",
        wrong_check_digit,
        "１２３４５６７８９０１２３４５６７８",
        "0" * 18 + "x",
    ]
    for number in malformed:
        for resource in RESOURCES:
            response = world.client.get(
                f"/open/v1/accounts/{number}/{resource}", headers=bearer(reader["tokens"])
            )
            problem(response, 422, "platform.invalid_virtual_account_number")
    too_long = world.client.get(f"/open/v1/accounts/{'1' * 41}/balance", headers=bearer(reader["tokens"]))
    problem(too_long, 422, "request.invalid")
    for number in (new_number(), reader["bob"]):  # unknown, and another member's (same app)
        for resource in RESOURCES:
            response = world.client.get(
                f"/open/v1/accounts/{number}/{resource}", headers=bearer(reader["tokens"])
            )
            problem(response, 404, "platform.unknown_virtual_account")
            assert not bob_leaks(world, response)


def test_bad_cursors_dates_and_page_sizes(world: World, reader: dict[str, Any]) -> None:
    url = f"/open/v1/accounts/{reader['alice']}/transactions"
    headers = bearer(reader["tokens"])
    forged = base64.urlsafe_b64encode(json.dumps({"id": 1, "at": "x"}).encode()).decode()
    for cursor in ("garbage", "!!!!", forged, "a" * 400):
        problem(
            world.client.get(url, params={"cursor": cursor}, headers=headers), 422, "backbone.invalid_cursor"
        )
    problem(world.client.get(url, params={"cursor": "a" * 513}, headers=headers), 422, "request.invalid")
    for params in ({"from": "2026-13-01"}, {"to": "yesterday"}, {"from": "2026-02-30"}, {"kind": "gift"}):
        problem(world.client.get(url, params=params, headers=headers), 422, "request.invalid")
    for params in ({"from": "2026-11-20", "to": "2026-11-01"}, {"from": "2020-01-01", "to": "2026-11-01"}):
        problem(world.client.get(url, params=params, headers=headers), 422, "backbone.invalid_date_range")
    for limit in ("0", "-1", "501", "100000", "many"):
        problem(world.client.get(url, params={"limit": limit}, headers=headers), 422, "request.invalid")
    candles = world.client.get(
        "/open/v1/market/instruments/005930/candles", params={"limit": "5000"}, headers=headers
    )
    assert candles.status_code in (403, 422)  # a member's token has no market scope; either way no 5xx
    assert candles.headers["content-type"].startswith("application/problem+json")


def test_expired_foreign_tampered_and_missing_tokens(
    world: World, reader: dict[str, Any], clock: SimulatedClock
) -> None:
    url = f"/open/v1/accounts/{reader['alice']}/balance"
    token = reader["tokens"]["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    bad_tokens = [
        f"{header}.{forged_payload}.{signature}",  # claims changed, signature kept
        f"{header}.{payload}.{flipped}",  # signature changed
        "not-a-token",
        "a.b.c",
        reader["tokens"]["refresh_token"],  # a refresh token is not an access token
        "x" * 5000,
    ]
    # the integrated portfolio reads the header itself (no FastAPI dependency): the same answers
    for checked in (url, "/open/v1/portfolio"):
        for bad in bad_tokens:
            response = world.client.get(checked, headers={"Authorization": f"Bearer {bad}"})
            problem(response, 401, "oauth.invalid_token")
            assert "WWW-Authenticate" in response.headers
        problem(world.client.get(checked), 401, "oauth.invalid_token")
        for malformed in (f"Basic {token}", "Bearer", "Bearer ", token, f"Bearer{token}"):
            response = world.client.get(checked, headers={"Authorization": malformed})
            problem(response, 401, "oauth.invalid_token")

    # Foreign: a token Bob gave app B reads nothing of Alice's (her account is linked to app A).
    complete_journey(world.bob, world.app_b, ["HNB"])
    foreign = tokens_for(world, world.bob, world.app_b)
    for resource in RESOURCES:
        response = world.client.get(
            f"/open/v1/accounts/{reader['alice']}/{resource}", headers=bearer(foreign)
        )
        problem(response, 404, "platform.unknown_virtual_account")
        assert "김서연" not in response.text and "cash_won" not in response.text

    clock.advance(timedelta(seconds=ACCESS_TOKEN_TTL_S))
    expired = problem(
        world.client.get(url, headers={"Authorization": f"Bearer {token}"}), 401, "oauth.invalid_token"
    )
    assert "expired" in expired["detail"]
