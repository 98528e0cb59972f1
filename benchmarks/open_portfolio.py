"""The open API's integrated portfolio (통합계좌조회) under load from a separate process.

A real `backbone serve` on SQLite; one member with accounts at 3 firms (in process, on Backbone's
brokerage core) holding 50 positions in all, linked to one approved app through the whole journey
(virtual accounts, both consents); an access token from the token endpoint; then `wrk` (a separate
process, on the loopback) asks GET /open/v1/portfolio with that bearer token.

    .venv/bin/python -m benchmarks.open_portfolio [--seconds 20] [--connections 32] [--threads 1]
        [--workers 2]

With `--workers N` (N >= 1) wrk asks `backbone serve-open-api --workers N`, the open API in N
processes of its own beside `backbone serve`; with `--workers 0`, `backbone serve` itself.

Installs Debian's wrk through scripts/apt-install when it is missing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from tests.conftest import OPERATOR_TOKEN
from tests.open_platform.journey import Browser, check, code_from, exchange_code, pkce_pair, register_app
from tests.postgresql import free_port

from backbone import bootstrap, schema
from backbone.brokerage.domain import AccountType
from backbone.config import Settings
from backbone.kit.money import Quantity, Won

FIRMS = (("BHA", "BBB-PP-NNNNNC"), ("BHB", "NNNNNNNC-PP"), ("BHC", "NNNN-NNNC-PP"))
POSITIONS = 50
NAME, BIRTH, PHONE = "박지우", "1985-04-09", "010-5555-0101"


def prepare(directory: Path, url: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")} | {
        "BACKBONE_DATABASE_URL": f"sqlite:///{directory / 'bench.sqlite3'}",
        "BACKBONE_VAR_DIRECTORY": str(directory / "var"),
        "BACKBONE_COOKIE_SECURE": "false",
        "BACKBONE_LOG_LEVEL": "WARNING",
        "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "BACKBONE_PUBLIC_URL": url,
        "BACKBONE_SQLITE_SYNCHRONOUS": "NORMAL",
    }
    settings = Settings(
        database_url=environment["BACKBONE_DATABASE_URL"],
        var_directory=directory / "var",
        operator_token=SecretStr(OPERATOR_TOKEN),
        public_url=url,
    )
    container = bootstrap.build(settings)
    schema.upgrade(container.database.engine)
    from backbone.identity.personal_identifier import development_personal_identifier  # noqa: PLC0415

    person = development_personal_identifier(NAME, datetime.fromisoformat(BIRTH).date(), PHONE)
    codes = sorted(container.instruments)[:POSITIONS]
    with container.database.transaction() as session:
        bootstrap.sync_reference_data(session, container)
        container.identity.authority.root(session)
        for index, (code, pattern) in enumerate(FIRMS):
            container.brokerage.register_firm(
                session,
                code=code,
                name_ko=f"{code}증권",
                name_en=code,
                account_number_pattern=pattern,
                branch=1 if "B" in pattern else 0,
            )
            customer = container.brokerage.register_customer(
                session,
                firm_code=code,
                name=NAME,
                birth_date=datetime.fromisoformat(BIRTH).date(),
                phone=PHONE,
                personal_identifier=person,
            )
            account = container.brokerage.open_account(
                session, customer_id=customer.id, account_type=AccountType.GENERAL
            )
            container.brokerage.deposit(
                session, account=account, amount=Won(50_000_000), idempotency_key=f"bench-{code}"
            )
            for instrument in codes[index :: len(FIRMS)]:
                container.brokerage.deliver_securities(
                    session,
                    account=account,
                    instrument=instrument,
                    quantity=Quantity.shares(10),
                    unit_cost_won=container.instruments[instrument].base_price,
                    idempotency_key=f"bench-{code}-{instrument}",
                )
    container.close()
    return environment


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its threads so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_speed_ns() -> float:
    """A fixed piece of Python, best of five: how fast this machine runs right now (a shared VM's
    speed moves with its neighbours; compare figures only with this beside them)."""
    return min(timeit.repeat("sum(range(100))", number=200_000, repeat=5)) / 200_000 * 1e9


def without_times(value: Any) -> Any:
    """An answer without its `as_of` stamps (two calls differ in nothing else)."""
    if isinstance(value, dict):
        return {key: without_times(item) for key, item in value.items() if key != "as_of"}
    if isinstance(value, list):
        return [without_times(item) for item in value]
    return value


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += process_tree(int(child))
    return found


def wait_ready(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=2, help="serve-open-api worker processes; 0: backbone serve itself"
    )
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["scripts/apt-install", "wrk"], check=True)
    directory = Path(tempfile.mkdtemp(prefix="open-portfolio-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = prepare(directory, url)
    server = subprocess.Popen(
        [sys.executable, "-m", "backbone", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    open_api = None
    target = url
    try:
        wait_ready(url)
        if arguments.workers:
            open_port = free_port()
            open_api = subprocess.Popen(
                [
                    *(sys.executable, "-m", "backbone", "serve-open-api"),
                    *("--port", str(open_port), "--workers", str(arguments.workers)),
                ],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            target = f"http://127.0.0.1:{open_port}"
            wait_ready(target)
        client = httpx.Client(base_url=url, timeout=30)
        for code, _pattern in FIRMS:
            check(
                client.post(
                    "/api/backoffice/v1/platform/firms",
                    json={"code": code, "name_ko": code, "name_en": code, "adapter": "backbone"},
                    headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
                ),
                201,
            )
        app = register_app(client, index=3, name="벤치마크")
        browser = Browser(client=httpx.Client(base_url=url, timeout=30), now=lambda: datetime.now(UTC))
        browser.sign_up(name=NAME, birth_date=BIRTH, phone=PHONE, email="bench@example.com")
        browser.certify()
        browser.apply(app.client_id)
        numbers = []
        for code, _pattern in FIRMS:
            browser.sign_platform_consent(code)
            numbers += [browser.issue(code, item["number"]) for item in browser.firm_accounts(code)]
        browser.link(app.client_id, numbers)
        browser.sign_fintech_consent(app.client_id)
        verifier, challenge = pkce_pair()
        code = code_from(browser.authorize(app.client_id, challenge).headers["location"])["code"]
        token = check(exchange_code(client, app, code, verifier))["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        sample = check(client.get("/open/v1/portfolio", headers=bearer))
        positions = sum(len(item["balance"]["positions"]) for item in sample["accounts"])
        print(
            f"member: {len(sample['accounts'])} accounts at {len(sample['firms'])} firms, "
            f"{positions} positions, valuation {sample['valuation_won']:,} won"
        )
        if open_api is not None:
            # The workers value at the venue's prices too (the shared board), not base prices.
            answered = check(httpx.get(f"{target}/open/v1/portfolio", headers=bearer, timeout=30))
            if without_times(answered) != without_times(sample):
                raise SystemExit("serve-open-api answers other figures than backbone serve")
        command = [
            "wrk",
            "-t",
            str(arguments.threads),
            "-c",
            str(arguments.connections),
            "-d",
            f"{arguments.seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            f"{target}/open/v1/portfolio",
        ]
        print("$ " + " ".join(command).replace(token, "<token>"))
        serving = process_tree(open_api.pid if open_api is not None else server.pid)
        name = "serve-open-api" if open_api is not None else "backbone serve"
        print(f"serving: {name}, {len(serving)} processes")
        print(f"machine: sum(range(100)) in {machine_speed_ns():.0f} ns (best of 5)")
        cpu_before = sum(cpu_seconds(pid) for pid in serving)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        cpu_used = sum(cpu_seconds(pid) for pid in serving) - cpu_before
        print(output)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        served = re.search(r"(\d+) requests in", output)
        print(f"integrated portfolio: {rate.group(1) if rate else '?'} requests/s")
        if served:
            # The server's own CPU time per request: what the figure costs, less sensitive than
            # requests/s to whatever else shares the cores.
            print(f"server CPU per request: {cpu_used * 1000 / int(served.group(1)):.1f} ms")
    finally:
        for process in (open_api, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
