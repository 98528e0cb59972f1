"""End to end against a real `backbone serve`: a fintech company registers an app and the operator
approves it; a demo investor signs up, gets a certificate and walks the journey in the portal API;
the app gets tokens with Authlib's own OAuth 2.0 client (authorization code + PKCE) and reads
balance, transactions, portfolio, watchlist and the integrated portfolio, whose figures equal the
brokerage core's, read from the same database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from pydantic import SecretStr

from backbone import bootstrap
from backbone.bootstrap import Container
from backbone.config import Settings
from backbone.demo.seed import DEFAULT_SEED, FIRMS, demo_people
from tests.conftest import OPERATOR_TOKEN
from tests.open_platform.journey import REDIRECT_URI, Browser, register_app
from tests.postgresql import free_port

BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Served:
    url: str
    environment: dict[str, str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")} | {
        "BACKBONE_DATABASE_URL": f"sqlite:///{tmp_path / 'backbone.sqlite3'}",
        "BACKBONE_VAR_DIRECTORY": str(tmp_path / "var"),
        "BACKBONE_PORT": str(port),
        "BACKBONE_COOKIE_SECURE": "false",
        "BACKBONE_LOG_LEVEL": "WARNING",
        "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "BACKBONE_PUBLIC_URL": url,
    }
    for command in (["db", "upgrade"], ["demo", "seed"]):
        subprocess.run(  # noqa: S603 - our own command line
            [str(BIN / "backbone"), *command], env=environment, check=True, capture_output=True, timeout=300
        )
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "backbone"), "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield Served(url, environment)
    finally:
        process.terminate()
        process.wait(timeout=20)


def same_database(served: Served) -> Container:
    settings = Settings(
        database_url=served.environment["BACKBONE_DATABASE_URL"],
        var_directory=Path(served.environment["BACKBONE_VAR_DIRECTORY"]),
        operator_token=SecretStr(OPERATOR_TOKEN),
        public_url=served.url,
    )
    return bootstrap.build(settings)


def test_an_app_registers_a_member_walks_the_journey_and_authlib_reads_the_core_figures(
    served: Served,
) -> None:
    person = demo_people(DEFAULT_SEED)[0]
    with httpx.Client(base_url=served.url, timeout=30) as anonymous:
        app = register_app(anonymous, index=2, name="E2E 자산앱")
    browser = Browser(client=httpx.Client(base_url=served.url, timeout=30), now=lambda: datetime.now(UTC))
    browser.sign_up(
        name=person.name, birth_date=person.birth_date.isoformat(), phone=person.phone, email=person.email
    )
    browser.certify()
    browser.apply(app.client_id)
    numbers: dict[str, tuple[str, str]] = {}  # virtual number → (firm, real number)
    for firm in FIRMS:
        listed = browser.firm_accounts(firm.code)
        if not listed:
            continue
        browser.sign_platform_consent(firm.code)
        for account in listed:
            numbers[browser.issue(firm.code, account["number"], account["alias"])] = (
                firm.code,
                account["number"],
            )
    assert numbers, "the demo person has accounts at one to three firms"
    browser.link(app.client_id, list(numbers))
    browser.sign_fintech_consent(app.client_id)

    oauth = OAuth2Client(
        client_id=app.client_id,
        client_secret=app.client_secret,
        scope="account.read watchlist.read",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        timeout=30,
    )
    verifier = generate_token(48)
    authorization_url, state = oauth.create_authorization_url(
        f"{served.url}/oauth/authorize", code_verifier=verifier
    )
    redirected = browser.client.get(authorization_url, follow_redirects=False)
    assert redirected.status_code == 302, redirected.text
    location = redirected.headers["location"]
    assert location.startswith(REDIRECT_URI) and f"state={state}" in location and "iss=" in location
    token = oauth.fetch_token(
        f"{served.url}/oauth/token", authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and token["refresh_token"]

    container = same_database(served)
    try:
        total_assets = 0
        for virtual, (firm_code, real) in numbers.items():
            balance = oauth.get(f"{served.url}/open/v1/accounts/{virtual}/balance").json()
            with container.database.reading() as session:
                real_account = container.brokerage.account_by_number(session, firm_code, real)
                core = container.holdings.balance(session, real_account)
                lines = container.holdings.transactions(session, account=real_account, limit=500).items
                groups = container.watchlists.groups(session, real_account.customer_id)
            assert (balance["cash_won"], balance["cash_next_day_won"], balance["cash_second_day_won"]) == (
                core.cash_today,
                core.cash_next_day,
                core.cash_second_day,
            )
            assert balance["withdrawable_won"] == core.withdrawable
            assert balance["valuation_won"] == core.valuation_won and balance["profit_won"] == core.profit_won
            assert [(p["instrument"], p["average_price_won"]) for p in balance["positions"]] == [
                (p.instrument, p.average_price) for p in core.positions
            ]
            total_assets += core.total_assets_won
            history = oauth.get(
                f"{served.url}/open/v1/accounts/{virtual}/transactions", params={"limit": 500}
            ).json()
            assert [item["id"] for item in history["items"]] == [str(line.id) for line in lines]
            portfolio = oauth.get(f"{served.url}/open/v1/accounts/{virtual}/portfolio").json()
            assert portfolio["securities_won"] == core.valuation_won
            watchlist = oauth.get(f"{served.url}/open/v1/accounts/{virtual}/watchlist").json()
            assert [group["name"] for group in watchlist["groups"]] == [group.name for group in groups]
        integrated = oauth.get(f"{served.url}/open/v1/portfolio").json()
        assert integrated["complete"] is True
        assert integrated["total_assets_won"] == total_assets
        assert {item["virtual_account_number"] for item in integrated["accounts"]} == set(numbers)
    finally:
        container.close()

    refreshed = oauth.refresh_token(f"{served.url}/oauth/token")
    assert refreshed["access_token"] != token["access_token"]
    assert oauth.get(f"{served.url}/open/v1/membership").json()["readable_accounts"] == len(numbers)
    oauth.close()
    browser.client.close()
