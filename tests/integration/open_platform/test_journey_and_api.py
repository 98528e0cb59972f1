"""The whole journey over HTTP, then the open API's figures against the brokerage core's."""

from __future__ import annotations

from typing import Any

from tests.integration.open_platform.conftest import World
from tests.open_platform.journey import Browser, FintechApp, check, code_from, exchange_code, pkce_pair


def complete_journey(browser: Browser, app: FintechApp, firms: list[str]) -> list[str]:
    """Steps 6-12 for one app: apply, virtual accounts at each firm, platform consents, links,
    the fintech consent. Returns the virtual account numbers linked."""
    browser.apply(app.client_id)
    numbers = []
    for firm in firms:
        listed = browser.firm_accounts(firm)
        numbers.append(
            listed[0]["virtual_account_number"] or browser.issue(firm, listed[0]["number"], "주식")
        )
        if not any(
            c["firm"] == firm and c["kind"] == "platform_firm" and c["status"] == "active"
            for c in browser.consents()
        ):
            browser.sign_platform_consent(firm)
    browser.link(app.client_id, numbers)
    browser.sign_fintech_consent(app.client_id)
    return numbers


def tokens_for(world: World, browser: Browser, app: FintechApp) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    redirected = browser.authorize(app.client_id, challenge)
    assert redirected.status_code == 302, redirected.text
    query = code_from(redirected.headers["location"])
    assert query["state"] == "xyz"
    assert query["iss"] == world.container.open_platform.oauth.issuer
    tokens: dict[str, Any] = check(exchange_code(world.client, app, query["code"], verifier))
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_a_member_completes_the_journey_and_the_app_reads_the_same_figures_as_the_brokerage(
    world: World,
) -> None:
    numbers = complete_journey(world.alice, world.app_a, ["HNB", "SSL"])
    tokens = tokens_for(world, world.alice, world.app_a)
    client, container = world.client, world.container

    linked = check(client.get("/open/v1/accounts", headers=bearer(tokens)))
    assert [item["virtual_account_number"] for item in linked] == numbers
    assert all(item["status"] == "ok" for item in linked)
    real_numbers = {account.number for account in world.accounts.values()} | {
        account.display_number for account in world.accounts.values()
    }
    assert not any(
        number in client.get("/open/v1/accounts", headers=bearer(tokens)).text for number in real_numbers
    )

    hnb = numbers[0]
    balance = check(client.get(f"/open/v1/accounts/{hnb}/balance", headers=bearer(tokens)))
    with container.database.reading() as session:
        core = container.holdings.balance(session, world.accounts["alice.HNB"])
    assert balance["cash_won"] == core.cash_today
    assert balance["cash_next_day_won"] == core.cash_next_day
    assert balance["cash_second_day_won"] == core.cash_second_day
    assert balance["withdrawable_won"] == core.withdrawable
    assert balance["valuation_won"] == core.valuation_won
    assert balance["profit_won"] == core.profit_won
    assert {p["instrument"]: (p["average_price_won"], p["valuation_won"]) for p in balance["positions"]} == {
        p.instrument: (p.average_price, p.valuation_won) for p in core.positions
    }

    page = check(
        client.get(f"/open/v1/accounts/{hnb}/transactions", headers=bearer(tokens), params={"limit": 2})
    )
    with container.database.reading() as session:
        lines = container.holdings.transactions(session, account=world.accounts["alice.HNB"], limit=500).items
    assert [item["id"] for item in page["items"]] == [str(line.id) for line in lines[:2]]
    rest = check(
        client.get(
            f"/open/v1/accounts/{hnb}/transactions",
            headers=bearer(tokens),
            params={"limit": 500, "cursor": page["next_cursor"]},
        )
    )
    assert [item["id"] for item in page["items"] + rest["items"]] == [str(line.id) for line in lines]
    assert rest["next_cursor"] is None

    portfolio = check(client.get(f"/open/v1/accounts/{hnb}/portfolio", headers=bearer(tokens)))
    assert portfolio["total_won"] == core.cash_second_day + core.valuation_won
    assert portfolio["securities_won"] == core.valuation_won
    assert all(isinstance(item["ratio"], str) for item in portfolio["by_instrument"])

    watchlist = check(client.get(f"/open/v1/accounts/{hnb}/watchlist", headers=bearer(tokens)))
    assert watchlist["groups"][0]["name"] == "반도체"
    assert [item["code"] for item in watchlist["groups"][0]["instruments"]] == ["005930", "000660"]

    integrated = check(client.get("/open/v1/portfolio", headers=bearer(tokens)))
    with container.database.reading() as session:
        cores = [
            container.holdings.balance(session, world.accounts[key]) for key in ("alice.HNB", "alice.SSL")
        ]
    assert integrated["complete"] is True
    assert integrated["total_assets_won"] == sum(item.total_assets_won for item in cores)
    assert integrated["valuation_won"] == sum(item.valuation_won for item in cores)
    assert [firm["status"] for firm in integrated["firms"]] == ["ok", "ok"]

    membership = check(client.get("/open/v1/membership", headers=bearer(tokens)))
    assert membership["readable_accounts"] == 2
    container.open_platform.audit.flush()  # the trail is written off the request path
    with container.database.reading() as session:
        from backbone.open_platform.audit.repository import reads_of_member  # noqa: PLC0415

        reads = reads_of_member(session, _member_id(world), 100)
    assert {read.resource for read in reads} >= {
        "balance",
        "transactions",
        "portfolio",
        "watchlist",
        "integrated_portfolio",
    }
    assert all(read.fintech_consent_id and read.platform_consent_id for read in reads)


def _member_id(world: World) -> int:
    me = check(world.alice.request("GET", "/api/v1/identity/me"))
    return int(me["id"])
