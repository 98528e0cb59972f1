"""The integrated portfolio served by the open API's worker processes (`backbone serve-open-api
--workers N`) beside a real `backbone serve`: the same member, app and load as
`benchmarks/open_portfolio.py` (whose world this reuses), the token taken at the tier and the load
sent to it. Prints wrk's figures, the workers' CPU time per request and their resident memory.
(Its journey repeats open_portfolio.py's; once that script is moved to the tier, this one goes.)

    .venv/bin/python -m benchmarks.open_portfolio_tier [--workers 2] [--seconds 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tests.conftest import OPERATOR_TOKEN
from tests.open_platform.journey import Browser, check, code_from, exchange_code, pkce_pair, register_app
from tests.postgresql import free_port

from benchmarks.open_portfolio import BIRTH, FIRMS, NAME, PHONE, cpu_seconds, prepare


def ready(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def member_token(portal: str, tier: str) -> str:
    """The benchmark's member through the journey at the portal; the code exchanged at the tier."""
    client = httpx.Client(base_url=portal, timeout=30)
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
    browser = Browser(client=httpx.Client(base_url=portal, timeout=30), now=lambda: datetime.now(UTC))
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
    with httpx.Client(base_url=tier, timeout=30) as at_tier:
        token: str = check(exchange_code(at_tier, app, code, verifier))["access_token"]
    return token


def start(environment: dict[str, str], *arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "backbone", *arguments],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def resident_mb(pid: int) -> int:
    return int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    arguments = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="open-portfolio-tier-"))
    port, tier_port = free_port(), free_port()
    portal, tier = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{tier_port}"
    environment = prepare(directory, portal)
    server = start(environment, "serve", "--port", str(port))
    workers = start(
        environment, "serve-open-api", "--port", str(tier_port), "--workers", str(arguments.workers)
    )
    try:
        ready(portal)
        ready(tier)
        token = member_token(portal, tier)
        sample = check(httpx.get(f"{tier}/open/v1/portfolio", headers={"Authorization": f"Bearer {token}"}))
        print(f"member: {sum(len(item['balance']['positions']) for item in sample['accounts'])} positions")
        found = subprocess.run(["pgrep", "-P", str(workers.pid)], capture_output=True, text=True, check=False)
        # The workers: the supervisor's children that serve (multiprocessing's helper is small).
        pids = [pid for pid in map(int, found.stdout.split()) if resident_mb(pid) > 50]
        print(f"{len(pids)} workers, resident MB: {[resident_mb(pid) for pid in pids]}")
        command = ["wrk", "-t", "1", "-c", str(arguments.connections), "-d", f"{arguments.seconds}s"]
        command += ["--latency", "-H", f"Authorization: Bearer {token}", f"{tier}/open/v1/portfolio"]
        print("$ " + " ".join(command).replace(token, "<token>"))
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        cpu_used = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        print(output)
        served = re.search(r"(\d+) requests in", output)
        if served:
            print(f"workers' CPU per request: {cpu_used * 1000 / int(served.group(1)):.1f} ms")
    finally:
        workers.terminate()
        server.terminate()
        workers.wait(timeout=30)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
