"""Durable orders per second through the brokerage API, with load from a separate process.

A real `backbone serve` (durable: SQLite synchronous=FULL, the venue's journal synced per group)
runs the market on a simulated clock held at Monday 09:00. One member signed in over HTTP owns
20 funded accounts; `wrk` (a separate process, on loopback) posts limit orders of one share at
71,500, buys and sells in turn across the accounts, so most of them trade: each request is the
whole chain — the session, admission with its hold, the venue's journal, the booking of fills.

Side by side, on the same server and connection count: `GET /healthz` (the web stack's ceiling)
and the account's balance (an authenticated read), so the order path's own cost is visible.

    .venv/bin/python -m benchmarks.orders_api [--seconds 20] [--connections 32]
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
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
from tests.e2e.members import Member
from tests.postgresql import free_port

OPERATOR_TOKEN = "benchmark-operator-token"  # noqa: S105 - a throw-away installation's token
ACCOUNTS = 20
SERVER_START_S_MAX = 120
LUA = """
counter = 0
prefix = tostring(math.random(1, 1000000000))
accounts = {%(accounts)s}
request = function()
  counter = counter + 1
  local account = accounts[(counter %% #accounts) + 1]
  local side = (math.floor(counter / #accounts) %% 2 == 0) and "buy" or "sell"
  local body = '{"instrument":"005930","side":"' .. side .. '","price":71500,"quantity":1}'
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Cookie"] = "%(cookie)s"
  headers["X-CSRF-Token"] = "%(csrf)s"
  headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format("POST", "/api/v1/brokerage/accounts/" .. account .. "/orders", headers, body)
end
shown = 0
response = function(status, headers, body)
  if status ~= 201 and shown < 3 then
    shown = shown + 1
    io.write("refused " .. status .. ": " .. body .. "\\n")
  end
end
"""
READ_LUA = """
request = function()
  local headers = {}
  headers["Cookie"] = "%(cookie)s"
  return wrk.format("GET", "%(path)s", headers)
end
"""


@dataclass
class Figure:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def run(command: list[str], environment: dict[str, str], cwd: Path) -> str:
    completed = subprocess.run(command, env=environment, cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


def milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(name: str, url: str, script: str, seconds: int, connections: int, directory: Path) -> Figure:
    path = directory / f"{name}.lua"
    path.write_text(script)
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(path), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = milliseconds(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = milliseconds(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    for refusal in re.findall(r"refused .*", output)[:3]:
        print(f"   {name}: {refusal}")
    return Figure(name, rate, p50, p99, non_2xx)


def start_server(directory: Path, environment: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "backbone", "serve", "--port", str(port)],
        env=environment,
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "server.log").open("w"),
    )
    deadline = time.monotonic() + SERVER_START_S_MAX
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((directory / "server.log").read_text())
        time.sleep(0.2)


def prepare(url: str) -> tuple[Member, list[int]]:
    operator = httpx.Client(
        base_url=f"{url}/api/backoffice/v1", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    operator.post(
        "/firms",
        json={
            "code": "BENCH",
            "name_ko": "벤치증권",
            "name_en": "Bench Securities",
            "account_number_pattern": "BBB-PP-NNNNNC",
            "branch": 1,
        },
    ).raise_for_status()
    member = Member(url, name="김벤치", birth_date=date(1980, 1, 1), phone="010-9999-0001")
    member.sign_up()
    customer = operator.post(
        "/firms/BENCH/customers",
        json={
            "name": member.name,
            "birth_date": "1980-01-01",
            "phone": member.phone,
            "personal_identifier": member.personal_identifier,
        },
    )
    customer.raise_for_status()
    for index in range(ACCOUNTS):
        number = operator.post(f"/firms/BENCH/customers/{customer.json()['id']}/accounts", json={}).json()[
            "number"
        ]
        operator.post(
            f"/firms/BENCH/accounts/{number}/deposits",
            json={"amount_won": 10**11},
            headers={"Idempotency-Key": f"d{index}"},
        ).raise_for_status()
        operator.post(
            f"/firms/BENCH/accounts/{number}/securities-in",
            json={"instrument": "005930", "quantity": 1_000_000, "unit_cost_won": 70_000},
            headers={"Idempotency-Key": f"s{index}"},
        ).raise_for_status()
    operator.post("/clock/advance", json={"seconds": 3_600}).raise_for_status()  # 09:00: continuous
    member.log_in()
    accounts = [account["id"] for account in member.get("/api/v1/brokerage/accounts").json()]
    return member, accounts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: `make bench` installs it (Debian package wrk)")
    directory = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")} | {
        "BACKBONE_DATABASE_URL": f"sqlite:///{directory / 'backbone.sqlite3'}",
        "BACKBONE_VAR_DIRECTORY": str(directory),
        "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "BACKBONE_COOKIE_SECURE": "false",
        "BACKBONE_LOG_LEVEL": "WARNING",
        "BACKBONE_SIMULATED_CLOCK_START": "2026-11-23T08:00:00+09:00",
    }
    run([sys.executable, "-m", "backbone", "db", "upgrade"], environment, directory)
    server = start_server(directory, environment, port)
    url = f"http://127.0.0.1:{port}"
    try:
        member, accounts = prepare(url)
        cookie = "; ".join(f"{name}={value}" for name, value in member.client.cookies.items())
        csrf = member.client.cookies.get("backbone_csrf") or ""
        figures = [
            wrk("healthz", url + "/healthz", "", arguments.seconds, arguments.connections, directory),
            wrk(
                "balance",
                url,
                READ_LUA % {"cookie": cookie, "path": f"/api/v1/brokerage/accounts/{accounts[0]}/balance"},
                arguments.seconds,
                arguments.connections,
                directory,
            ),
            wrk(
                "orders",
                url,
                LUA
                % {
                    "accounts": ",".join(f'"{account}"' for account in accounts),
                    "cookie": cookie,
                    "csrf": csrf,
                },
                arguments.seconds,
                arguments.connections,
                directory,
            ),
        ]
    finally:
        server.terminate()
        server.wait(timeout=60)
    check = subprocess.run(
        [sys.executable, "-m", "backbone", "ledger", "check"],
        env=environment,
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"{'endpoint':<10} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for figure in figures:
        rate, p50, p99 = figure.requests_per_second, figure.p50_ms, figure.p99_ms
        print(f"{figure.name:<10} {rate:>11,.0f} {p50:>8.2f} {p99:>8.2f} {figure.non_2xx:>8}")
    print(f"ledger check after the run: {'0 violations' if check.returncode == 0 else 'VIOLATIONS'}")
    connections, seconds = arguments.connections, arguments.seconds
    print(f"{connections} connections, {seconds} s each, wrk -t1 on loopback; one server process")
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
