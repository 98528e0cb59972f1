"""A firm that runs its own system, reached over HTTP: a real server started here that can answer,
be slow, fail, or lack a capability. The platform answers with partial results and a status per
firm; a timeout and a failure are retried; repeated failures open the circuit breaker, which lets
one trial call through once its pause (on the injected clock) is over."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from backbone.kit.clock import SimulatedClock
from backbone.open_platform.adapters.resilience import (
    FIRM_BREAKER_FAILURES_MAX,
    FIRM_BREAKER_OPEN_MS,
    FIRM_RETRIES_MAX,
    BreakerState,
    ResilientFirm,
)
from tests.integration.open_platform.conftest import ALICE, World
from tests.integration.open_platform.test_journey_and_api import bearer, tokens_for
from tests.open_platform.firm_server import FirmBehaviour, balance_body, running_firm
from tests.open_platform.journey import check, register_firm

FIRM = "KWS"
REAL_NUMBER = "5512345678"
ATTEMPTS_PER_CALL = 1 + FIRM_RETRIES_MAX
TIMEOUT_MS = 300


@pytest.fixture(autouse=True)
def short_firm_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read by the container's settings: a slow firm is given up on after 300 ms an attempt."""
    monkeypatch.setenv("BACKBONE_PLATFORM_FIRM_TIMEOUT_MS", str(TIMEOUT_MS))


@dataclass
class HttpWorld:
    world: World
    behaviour: FirmBehaviour
    tokens: dict[str, Any]
    local_number: str  # Alice's virtual account at HNB (in process)
    remote_number: str  # her virtual account at the HTTP firm

    def integrated(self) -> dict[str, Any]:
        body: dict[str, Any] = check(self.world.client.get("/open/v1/portfolio", headers=bearer(self.tokens)))
        return body

    def read(self, number: str, resource: str) -> Any:
        return self.world.client.get(f"/open/v1/accounts/{number}/{resource}", headers=bearer(self.tokens))

    def breaker(self) -> BreakerState:
        platform = self.world.container.open_platform
        with self.world.container.database.reading() as session:
            firm = platform.firms.firm(session, FIRM)
        adapter = platform.firms.adapter(firm)
        assert isinstance(adapter, ResilientFirm)
        return adapter.breaker.state


@pytest.fixture
def http_world(world: World) -> Iterator[HttpWorld]:
    behaviour = FirmBehaviour(
        person=ALICE.personal_identifier,
        accounts={REAL_NUMBER: balance_body(3_000_000, [("005930", 5, 60_000, 71_000)])},
        delay_s=1.0,
    )
    with running_firm(behaviour) as base_url:
        register_firm(
            world.client, FIRM, adapter="http", base_url=base_url, capabilities=["balance", "transactions"]
        )
        alice, app = world.alice, world.app_a
        alice.apply(app.client_id)
        local = alice.issue("HNB", alice.firm_accounts("HNB")[0]["number"], "주식")
        remote = alice.issue(FIRM, REAL_NUMBER, "키움")  # typed: the firm confirms it is hers
        alice.sign_platform_consent("HNB")
        alice.sign_platform_consent(FIRM)
        alice.link(app.client_id, [local, remote])
        alice.sign_fintech_consent(app.client_id)
        tokens = tokens_for(world, alice, app)
        behaviour.hits.clear()
        yield HttpWorld(world, behaviour, tokens, local, remote)


def statuses(body: dict[str, Any]) -> dict[str, str]:
    return {item["firm_code"]: item["status"] for item in body["firms"]}


def test_an_http_firm_answers_in_the_same_shape_as_an_in_process_one(http_world: HttpWorld) -> None:
    body = http_world.integrated()

    assert body["complete"] is True
    assert statuses(body) == {"HNB": "ok", FIRM: "ok"}
    remote = next(item for item in body["accounts"] if item["firm_code"] == FIRM)
    assert remote["balance"]["cash_won"] == 3_000_000
    assert remote["balance"]["valuation_won"] == 5 * 71_000
    assert remote["balance"]["positions"][0]["quantity"] == "5"
    balance = check(http_world.read(http_world.remote_number, "balance"))
    assert balance["profit_won"] == 5 * (71_000 - 60_000)
    assert REAL_NUMBER not in str(body) and REAL_NUMBER not in str(balance)
    assert http_world.behaviour.hits[f"/firm-api/accounts/{REAL_NUMBER}/balance"] == 2


def test_what_a_firm_does_not_offer_is_refused_without_asking_it(http_world: HttpWorld) -> None:
    for resource in ("watchlist", "portfolio"):
        response = http_world.read(http_world.remote_number, resource)
        assert response.status_code == 501, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "platform.capability_missing"
    assert http_world.behaviour.requests() == 0


def test_a_slow_firm_is_given_up_on_and_the_other_firms_still_answer(http_world: HttpWorld) -> None:
    http_world.behaviour.mode = "slow"

    body = http_world.integrated()

    assert body["complete"] is False
    assert statuses(body) == {"HNB": "ok", FIRM: "unavailable"}
    remote = next(item for item in body["accounts"] if item["firm_code"] == FIRM)
    assert remote["status"] == "unavailable" and remote["balance"] is None
    local = next(item for item in body["accounts"] if item["firm_code"] == "HNB")
    assert local["balance"]["cash_won"] == 5_000_000
    assert http_world.behaviour.requests() == ATTEMPTS_PER_CALL  # each timed-out attempt retried
    one = http_world.read(http_world.remote_number, "balance")
    assert one.status_code == 503
    assert one.json()["code"] == "platform.firm_unavailable"


def test_a_failing_firm_opens_the_breaker_which_half_opens_after_its_pause(
    http_world: HttpWorld, clock: SimulatedClock
) -> None:
    behaviour = http_world.behaviour
    behaviour.mode = "fail"
    for call in range(1, FIRM_BREAKER_FAILURES_MAX + 1):
        assert http_world.breaker() is BreakerState.CLOSED
        assert statuses(http_world.integrated())[FIRM] == "unavailable"
        assert behaviour.requests() == call * ATTEMPTS_PER_CALL  # a 500 is retried
    assert http_world.breaker() is BreakerState.OPEN

    # Open: the firm is not asked at all, and the others still answer.
    body = http_world.integrated()
    assert statuses(body) == {"HNB": "ok", FIRM: "unavailable"}
    assert behaviour.requests() == FIRM_BREAKER_FAILURES_MAX * ATTEMPTS_PER_CALL

    # The pause over: half-open, one trial call; it fails, and the breaker opens again.
    clock.advance(timedelta(milliseconds=FIRM_BREAKER_OPEN_MS))
    assert http_world.breaker() is BreakerState.HALF_OPEN
    assert statuses(http_world.integrated())[FIRM] == "unavailable"
    assert behaviour.requests() == (FIRM_BREAKER_FAILURES_MAX + 1) * ATTEMPTS_PER_CALL
    assert http_world.breaker() is BreakerState.OPEN
    clock.advance(timedelta(milliseconds=FIRM_BREAKER_OPEN_MS // 2))
    http_world.integrated()
    assert behaviour.requests() == (FIRM_BREAKER_FAILURES_MAX + 1) * ATTEMPTS_PER_CALL

    # Healthy again after the next pause: the trial succeeds and the breaker closes.
    behaviour.mode = "ok"
    clock.advance(timedelta(milliseconds=FIRM_BREAKER_OPEN_MS))
    assert http_world.breaker() is BreakerState.HALF_OPEN
    body = http_world.integrated()
    assert body["complete"] is True
    assert statuses(body) == {"HNB": "ok", FIRM: "ok"}
    assert http_world.breaker() is BreakerState.CLOSED


def test_a_typed_number_the_firm_does_not_confirm_as_the_members_gets_no_virtual_account(
    http_world: HttpWorld,
) -> None:
    alice = http_world.world.alice
    before = len(check(alice.request("GET", "/api/v1/platform/virtual-accounts")))
    response = alice.request(
        "POST",
        "/api/v1/platform/virtual-accounts",
        json={"firm": FIRM, "account_number": "5599999999", "alias": "남의 계좌"},
    )
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert http_world.behaviour.hits["/firm-api/accounts/5599999999"] == 1  # the firm was asked
    assert len(check(alice.request("GET", "/api/v1/platform/virtual-accounts"))) == before
