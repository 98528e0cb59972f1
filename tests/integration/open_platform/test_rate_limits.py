"""Per-app limits on the open API, on the injected clock: a burst limit (token bucket, per second)
and a daily quota (per Korean calendar day), both announced in RateLimit headers and refused with
429, Retry-After and a problem+json code of their own. The other app is not affected."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backbone.kit.clock import SEOUL, SimulatedClock
from backbone.open_platform.companies.domain import PRODUCTION_DAILY_QUOTA
from tests.conftest import OPERATOR_TOKEN
from tests.integration.open_platform.conftest import World
from tests.integration.open_platform.test_journey_and_api import bearer, complete_journey, tokens_for
from tests.open_platform.journey import OPERATOR, FintechApp, check

QUOTE = "/open/v1/market/instruments/005930/quote"


def app_token(world: World, app: FintechApp) -> dict[str, str]:
    granted = check(
        world.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "market.read"},
            auth=(app.client_id, app.client_secret),
        )
    )
    return {"Authorization": f"Bearer {granted['access_token']}"}


def set_limits(world: World, app: FintechApp, *, daily_quota: int, burst: int) -> None:
    check(
        world.client.put(
            f"{OPERATOR}/apps/{app.client_id}/limits",
            json={"daily_quota": daily_quota, "burst_limit_per_second": burst},
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        )
    )


def refused(response: Any, code: str) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert int(response.headers["Retry-After"]) >= 1
    return body


def test_a_burst_past_the_limit_waits_a_second(world: World, clock: SimulatedClock) -> None:
    set_limits(world, world.app_a, daily_quota=PRODUCTION_DAILY_QUOTA, burst=3)
    headers = app_token(world, world.app_a)
    for _ in range(3):  # the bucket holds three; the clock stands still
        answered = world.client.get(QUOTE, headers=headers)
        assert answered.status_code == 200, answered.text
        assert int(answered.headers["RateLimit-Limit"]) == PRODUCTION_DAILY_QUOTA

    response = world.client.get(QUOTE, headers=headers)
    refused(response, "platform.rate_limited")
    assert response.headers["Retry-After"] == "1"
    other = world.client.get(QUOTE, headers=app_token(world, world.app_b))
    assert other.status_code == 200  # another app's bucket is its own

    clock.advance(timedelta(seconds=1))
    assert world.client.get(QUOTE, headers=headers).status_code == 200


def test_the_daily_quota_counts_down_refuses_until_midnight_in_seoul_then_resets(
    world: World, clock: SimulatedClock
) -> None:
    set_limits(world, world.app_a, daily_quota=4, burst=100)
    headers = app_token(world, world.app_a)
    remaining = []
    for _ in range(4):
        answered = world.client.get(QUOTE, headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.headers["RateLimit-Limit"] == "4"
        remaining.append(int(answered.headers["RateLimit-Remaining"]))
    assert remaining == [3, 2, 1, 0]

    now = clock.now().astimezone(SEOUL)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=SEOUL)
    response = world.client.get(QUOTE, headers=headers)
    refused(response, "platform.quota_exceeded")
    assert int(response.headers["Retry-After"]) == int((midnight - now).total_seconds())
    assert response.headers["RateLimit-Remaining"] == "0"

    clock.set(midnight - timedelta(seconds=1))
    headers = app_token(world, world.app_a)  # the first token's ten minutes are long over
    late = world.client.get(QUOTE, headers=headers)
    refused(late, "platform.quota_exceeded")
    assert late.headers["Retry-After"] == "1"
    clock.set(midnight)
    answered = world.client.get(QUOTE, headers=headers)
    assert answered.status_code == 200, answered.text
    assert answered.headers["RateLimit-Remaining"] == "3"


def test_every_member_data_answer_carries_the_ratelimit_headers(world: World) -> None:
    (number,) = complete_journey(world.alice, world.app_a, ["HNB"])
    headers = bearer(tokens_for(world, world.alice, world.app_a))
    paths = ["/open/v1/portfolio", "/open/v1/accounts", "/open/v1/membership"]
    paths += [f"/open/v1/accounts/{number}/{name}" for name in ("balance", "portfolio", "transactions")]
    remaining = []
    for path in paths:
        answered = world.client.get(path, headers=headers)
        assert answered.status_code == 200, (path, answered.text)
        assert int(answered.headers["RateLimit-Limit"]) == PRODUCTION_DAILY_QUOTA, path
        assert int(answered.headers["RateLimit-Reset"]) >= 1, path
        remaining.append(int(answered.headers["RateLimit-Remaining"]))
    assert remaining == sorted(remaining, reverse=True)
    assert len(set(remaining)) == len(paths)  # each call counted once
