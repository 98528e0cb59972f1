"""The business side: a fintech company registers itself and its app; the app has sandbox access at
once (client credentials, market data) and reaches members only after the operator approves it
for production; secrets are shown once and kept only as hashes; a rotated secret replaces the old."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backbone.open_platform.models import AppRow, CompanyRow
from tests.conftest import OPERATOR_TOKEN
from tests.integration.open_platform.conftest import World
from tests.open_platform.journey import BUSINESS, OPERATOR, PORTAL, check, register_app

QUOTE = "/open/v1/market/instruments/005930/quote"


def market_token(world: World, client_id: str, secret: str) -> Any:
    return world.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "market.read"},
        auth=(client_id, secret),
    )


def app_status(world: World, client_id: str, company_key: str) -> str:
    found = check(
        world.client.get(f"{BUSINESS}/apps/{client_id}", headers={"Authorization": f"Bearer {company_key}"})
    )
    status: str = found["status"]
    return status


def test_sandbox_at_once_production_after_approval_secrets_hashed(world: World) -> None:
    app = register_app(world.client, index=2, approve=False, name="샌드박스")
    company = {"Authorization": f"Bearer {app.company_key}"}
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    assert app_status(world, app.client_id, app.company_key) == "sandbox"

    # Sandbox: market data with client credentials at once, but no member can use the app.
    granted = check(market_token(world, app.client_id, app.client_secret))
    quote = world.client.get(QUOTE, headers={"Authorization": f"Bearer {granted['access_token']}"})
    assert quote.status_code == 200, quote.text
    applied = world.alice.request("POST", f"{PORTAL}/memberships", json={"client_id": app.client_id})
    assert (
        applied.status_code == 404 and applied.json()["code"] == "platform.unknown_app"
    )  # not open to members

    check(world.client.post(f"{BUSINESS}/apps/{app.client_id}/production", headers=company))
    assert app_status(world, app.client_id, app.company_key) == "pending_approval"
    waiting = check(world.client.get(f"{OPERATOR}/apps", headers=operator))
    assert app.client_id in [item["client_id"] for item in waiting]
    check(
        world.client.post(
            f"{OPERATOR}/apps/{app.client_id}/approve",
            json={"daily_quota": 50_000, "burst_limit_per_second": 20},
            headers=operator,
        )
    )
    assert app_status(world, app.client_id, app.company_key) == "production"
    world.alice.apply(app.client_id)  # now members may

    # Secrets: only hashes are kept, and a rotated secret replaces the old one.
    with world.container.database.reading() as session:
        stored = session.scalars(select(AppRow).where(AppRow.client_id == app.client_id)).one()
        keys = [row.api_key_hash for row in session.scalars(select(CompanyRow))]
        stored_values = [str(getattr(stored, column.key)) for column in AppRow.__table__.columns]
        secret_hash = stored.client_secret_hash
    assert secret_hash is not None and secret_hash != app.client_secret
    assert not any(app.client_secret in value for value in stored_values)
    assert app.company_key not in keys
    rotated = check(world.client.post(f"{BUSINESS}/apps/{app.client_id}/secret", headers=company))
    assert rotated["client_secret"] != app.client_secret
    refused = market_token(world, app.client_id, app.client_secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert market_token(world, app.client_id, rotated["client_secret"]).status_code == 200


def test_an_app_the_operator_rejects_stays_out_of_production(world: World) -> None:
    app = register_app(world.client, index=3, approve=False, name="거절")
    check(
        world.client.post(
            f"{BUSINESS}/apps/{app.client_id}/production",
            headers={"Authorization": f"Bearer {app.company_key}"},
        )
    )
    check(
        world.client.post(
            f"{OPERATOR}/apps/{app.client_id}/reject", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        )
    )
    assert app_status(world, app.client_id, app.company_key) == "rejected"
    applied = world.alice.request("POST", f"{PORTAL}/memberships", json={"client_id": app.client_id})
    assert applied.status_code == 404 and applied.json()["code"] == "platform.unknown_app"
    anonymous = world.client.post(f"{OPERATOR}/apps/{app.client_id}/approve", json={})
    assert anonymous.status_code == 401
