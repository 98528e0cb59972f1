"""`backbone serve-open-api --workers 2` as a real command over real HTTP, beside the process that
runs the venue and the portal (here: the test process, on the same database and var/ directory).

Shown: both workers answer, each on a node id of its own; every read they serve lands in the
audit trail once (none lost, none twice); an app's burst limit holds across the workers (429 after
`burst` calls in all, not per worker); a price traded on the venue shows in the workers'
valuation through the shared last-price board.

Each worker runs on a simulated clock standing at the same instant as the test process's (as
`BACKBONE_SIMULATED_CLOCK_START` makes it), so tokens, consents and buckets agree exactly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from backbone import bootstrap
from backbone.app import create_app
from backbone.bootstrap import Container, Trading
from backbone.brokerage.trading.pipeline import BROKERAGE_ORDER_ID_MAX
from backbone.exchange.messages import PlaceOrder
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.kit import nodes
from backbone.kit.clock import SEOUL, SimulatedClock
from backbone.kit.ids import NODE_BITS, SEQUENCE_BITS
from backbone.kit.money import tick_size
from backbone.open_platform.audit.repository import DataRead, reads_of_member
from tests import builders
from tests.conftest import OPERATOR_TOKEN, settings_for
from tests.integration.open_platform.conftest import ALICE, open_accounts
from tests.integration.open_platform.test_journey_and_api import complete_journey
from tests.open_platform.journey import (
    OPERATOR,
    Browser,
    FintechApp,
    check,
    code_from,
    exchange_code,
    pkce_pair,
    register_app,
    register_firm,
)
from tests.postgresql import free_port
from tests.trading import open_market

BIN = Path(sys.executable).parent
MONDAY_OPEN = datetime(2026, 11, 23, 9, 0, tzinfo=SEOUL)
STARTUP_S_MAX = 60
AUDIT_WAIT_S_MAX = 20
PROBE_CONNECTIONS_MAX = 40
HELD = {"005930": 10, "000660": 3}
PORTFOLIO = "/open/v1/portfolio"


@dataclass
class Tier:
    url: str
    container: Container
    trading: Trading
    portal: TestClient
    app: FintechApp
    headers: dict[str, str]
    member_id: int
    log: Path


@pytest.fixture(scope="module")
def tier(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tier]:
    directory = tmp_path_factory.mktemp("tier")
    shutil.copyfile(sqlite_template, directory / "backbone.sqlite3")
    url = f"sqlite:///{directory / 'backbone.sqlite3'}"
    clock = SimulatedClock(MONDAY_OPEN)
    container = bootstrap.build(settings_for(url, directory), clock=clock)
    trading = bootstrap.open_trading(container)  # this process runs the venue: it writes the board
    open_market(clock, trading)
    with container.database.transaction() as session:
        builders.firm(container, session, code="HNB")
    open_accounts(container, ALICE, "HNB", cash=5_000_000, shares=HELD)
    with TestClient(create_app(container), base_url="https://testserver") as portal:
        register_firm(portal, "HNB")
        app = register_app(portal, index=0, name="머니로그")
        browser = Browser(client=portal, now=container.clock.now)
        browser.sign_up(
            name=ALICE.name, birth_date=ALICE.birth_date.isoformat(), phone=ALICE.phone, email=ALICE.email
        )
        browser.certify()
        complete_journey(browser, app, ["HNB"])
        verifier, challenge = pkce_pair()
        code = code_from(browser.authorize(app.client_id, challenge).headers["location"])["code"]
        member_id = int(check(browser.request("GET", "/api/v1/identity/me"))["id"])
        log = directory / "tier.log"
        process, address = _start_workers(directory, url, log)
        try:
            # The code is exchanged at a worker: the token endpoint is part of the tier.
            with httpx.Client(base_url=address) as client:
                tokens = check(exchange_code(client, app, code, verifier))
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            yield Tier(address, container, trading, portal, app, headers, member_id, log)
        finally:
            process.terminate()
            process.wait(timeout=30)
    trading.close()
    container.close()


def _start_workers(directory: Path, url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")} | {
        "BACKBONE_DATABASE_URL": url,
        "BACKBONE_VAR_DIRECTORY": str(directory),
        "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "BACKBONE_SQLITE_SYNCHRONOUS": "NORMAL",
        "BACKBONE_SIMULATED_CLOCK_START": MONDAY_OPEN.isoformat(),
        "BACKBONE_LOG_LEVEL": "WARNING",
    }
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [str(BIN / "backbone"), "serve-open-api", "--port", str(port), "--workers", "2"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S_MAX
    while True:
        try:
            if httpx.get(f"{address}/readyz", timeout=1).status_code == 200:
                return process, address
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"serve-open-api did not start:\n{log.read_text()}")
        time.sleep(0.1)


def node_of(read: DataRead) -> int:
    return (read.id >> SEQUENCE_BITS) & ((1 << NODE_BITS) - 1)


def audited(tier: Tier, request_ids: set[str]) -> list[DataRead]:
    """The audit records of these requests, once every one has landed (the workers commit their
    spools in batches, a few milliseconds after answering)."""
    deadline = time.monotonic() + AUDIT_WAIT_S_MAX
    while True:
        with tier.container.database.reading() as session:
            reads = reads_of_member(session, tier.member_id, 100_000)
        found = [read for read in reads if read.request_id in request_ids]
        if {read.request_id for read in found} == request_ids or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def connections_on_each_worker(tier: Tier) -> dict[int, httpx.Client]:
    """Kept-alive connections, each served by one worker process: one per worker, told apart by
    the node bits of the ids of the audit records its calls made."""
    found: dict[int, httpx.Client] = {}
    opened: list[httpx.Client] = []
    for index in range(PROBE_CONNECTIONS_MAX):
        client = httpx.Client(base_url=tier.url, headers=tier.headers, timeout=30)
        opened.append(client)
        request_id = f"probe-{index:04d}-{time.monotonic_ns()}"
        check(client.get(PORTFOLIO, headers={"X-Request-ID": request_id}))
        (read,) = audited(tier, {request_id})
        found.setdefault(node_of(read), client)
        if len(found) == 2:
            break
    for client in opened:
        if client not in found.values():
            client.close()
    return found


def set_burst(tier: Tier, burst: int) -> None:
    check(
        tier.portal.put(
            f"{OPERATOR}/apps/{tier.app.client_id}/limits",
            json={"daily_quota": 1_000_000, "burst_limit_per_second": burst},
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        )
    )


def test_both_workers_answer_on_nodes_of_their_own_and_every_read_is_audited_once(tier: Tier) -> None:
    connections = connections_on_each_worker(tier)
    assert sorted(connections) == [1, 2], tier.log.read_text()  # node 0 is the venue process's
    request_ids = set()
    for index in range(30):
        node = 1 + index % 2
        request_id = f"read-{index:04d}-{time.monotonic_ns()}"
        answered = connections[node].get(PORTFOLIO, headers={"X-Request-ID": request_id})
        assert answered.status_code == 200, answered.text
        assert answered.headers["x-request-id"] == request_id
        request_ids.add(request_id)
    reads = audited(tier, request_ids)
    assert len(reads) == len(request_ids)  # one linked account: one record per call, none twice
    assert {read.request_id for read in reads} == request_ids
    assert len({read.id for read in reads}) == len(reads)
    by_node = {node: {read.request_id for read in reads if node_of(read) == node} for node in (1, 2)}
    assert len(by_node[1]) == len(by_node[2]) == 15  # each worker recorded the calls it served
    for client in connections.values():
        client.close()


def test_an_apps_burst_limit_holds_across_the_workers(tier: Tier) -> None:
    connections = connections_on_each_worker(tier)
    assert sorted(connections) == [1, 2]
    set_burst(tier, 5)  # a new capacity starts a full bucket of 5; the clocks stand still
    try:
        answers: list[tuple[int, httpx.Response]] = []
        for index in range(12):
            node = 1 + index % 2
            request_id = f"burst-{index:04d}-{time.monotonic_ns()}"
            answers.append((node, connections[node].get(PORTFOLIO, headers={"X-Request-ID": request_id})))
        statuses = [response.status_code for _, response in answers]
        assert statuses == [200] * 5 + [429] * 7  # 5 in all, not 5 per worker
        refused = answers[-1][1]
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "platform.rate_limited"
        assert refused.headers["Retry-After"] == "1"
        served = {response.headers["x-request-id"]: node for node, response in answers[:5]}
        reads = audited(tier, set(served))
        assert {read.request_id: node_of(read) for read in reads} == served  # both workers counted
    finally:
        set_burst(tier, 10_000)
        for client in connections.values():
            client.close()


def test_a_price_traded_on_the_venue_shows_in_every_workers_valuation(tier: Tier) -> None:
    connections = connections_on_each_worker(tier)
    base = tier.container.instruments["000660"].base_price
    before = [_position(connections[node].get(PORTFOLIO), "000660") for node in (1, 2)]
    assert [position["last_price_won"] for position in before] == [base, base]
    traded = base + 2 * tick_size(base)
    stamp = tier.trading.venue.timestamp_ns()
    tier.trading.pipeline.run_commands(
        [
            PlaceOrder("000660", BROKERAGE_ORDER_ID_MAX + 1, Side.SELL, *LIMIT_DAY, traded, 5, stamp),
            PlaceOrder("000660", BROKERAGE_ORDER_ID_MAX + 2, Side.BUY, *LIMIT_DAY, traded, 5, stamp),
        ]
    )
    assert tier.container.holdings.prices.last_price("000660") == traded  # the venue's own
    for node in (1, 2):
        position = _position(connections[node].get(PORTFOLIO), "000660")
        assert position["last_price_won"] == traded
        assert position["valuation_won"] == traded * HELD["000660"]
    for client in connections.values():
        client.close()


LIMIT_DAY = (OrderType.LIMIT, TimeInForce.DAY)


def _position(response: httpx.Response, code: str) -> dict[str, Any]:
    portfolio = check(response)
    (account,) = portfolio["accounts"]
    (position,) = [item for item in account["balance"]["positions"] if item["instrument"] == code]
    return dict(position)


def test_a_second_serve_on_a_held_node_and_too_many_workers_are_refused_clearly(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")} | {
        "BACKBONE_DATABASE_URL": f"sqlite:///{tmp_path / 'backbone.sqlite3'}",
        "BACKBONE_VAR_DIRECTORY": str(tmp_path),
        "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
    }
    held = [nodes.claim(tmp_path, node) for node in range(0, 15)]  # 0 (serve's) and 1-14
    serve = _run(environment, "serve", "--port", str(free_port()))
    assert serve.returncode != 0
    assert "node 0 is held by another live process" in serve.stderr
    tier = _run(environment, "serve-open-api", "--port", str(free_port()), "--workers", "2")
    assert tier.returncode != 0
    assert "2 workers need 2 free node ids; 1 of 1-15 are free" in tier.stderr
    for claim in held:
        assert claim is not None
        claim.release()


def _run(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line
        [str(BIN / "backbone"), *arguments],
        env=environment | {"COLUMNS": "300"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
