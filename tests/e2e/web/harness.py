"""A real portal for browser tests and screenshots: `backbone serve` on a free port over a fresh
SQLite database, and Debian's Chromium driven by Playwright (never a downloaded browser).

The portal is opened at http://localhost:PORT (not 127.0.0.1): WebAuthn refuses IP addresses, and
the relying party is `localhost`. Cookies keep their production default (Secure): Chromium keeps
Secure cookies from http://localhost, which these tests prove by logging in at all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Playwright

from backbone.web import BUILD_STAMP
from tests.conftest import OPERATOR_TOKEN
from tests.postgresql import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
STARTUP_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
BIN = Path(sys.executable).parent
SMS_CODE = re.compile(r"\[(\d{6})\]")


@dataclass(frozen=True)
class Portal:
    """A running portal: its address, and the development outbox and ARS phone behind it."""

    url: str
    environment: dict[str, str]
    directory: Path

    def outbox(self, *, to: str, channel: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.url}/api/v1/identity/dev/outbox",
            params={"to": to, "channel": channel, "limit": 200},
            timeout=10,
        )
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()
        return messages

    def latest_sms_code(self, phone: str) -> str:
        messages = self.outbox(to=phone, channel="sms")
        assert messages, f"no SMS to {phone}"
        match = SMS_CODE.search(messages[-1]["body"])
        assert match is not None, messages[-1]
        return match.group(1)

    def key_in(self, call_id: int, digits: str) -> None:
        """The member's phone during an ARS call: key the digits in."""
        response = httpx.post(
            f"{self.url}/api/v1/identity/dev/ars/{call_id}/keypad", json={"digits": digits}, timeout=10
        )
        assert response.status_code == 200, response.text


def _command(environment: dict[str, str], directory: Path, *arguments: str) -> None:
    completed = subprocess.run(  # noqa: S603 - our own command line, from this virtualenv
        [str(BIN / "backbone"), *arguments],
        env=environment,
        cwd=directory,
        capture_output=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()


@contextmanager
def running_portal(
    directory: Path, *, seeded: bool = False, overrides: Mapping[str, str] | None = None
) -> Iterator[Portal]:
    """`seeded`: the demo firms, their customers (demo_people) and accounts, on the open platform
    (`backbone demo seed`), for the open-platform journey. `overrides` adds to the server's
    environment (the trading screen's tests run the market on a simulated clock)."""
    assert BUILD_STAMP.exists(), "the browser modules are not built: run `make e2e` or scripts/build-frontend"
    port = free_port()
    url = f"http://localhost:{port}"
    environment = (
        {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")}
        | {
            "BACKBONE_DATABASE_URL": f"sqlite:///{directory / 'backbone.sqlite3'}",
            "BACKBONE_VAR_DIRECTORY": str(directory / "var"),
            "BACKBONE_PORT": str(port),
            "BACKBONE_WEBAUTHN_ORIGINS": json.dumps([url]),
            "BACKBONE_LOG_LEVEL": "WARNING",
            "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "BACKBONE_PUBLIC_URL": url,
        }
        | dict(overrides or {})
    )
    _command(environment, directory, "db", "upgrade")
    if seeded:
        _command(environment, directory, "demo", "seed")
    log = (directory / "server.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [str(BIN / "backbone"), "serve"], env=environment, cwd=directory, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (directory / "server.log").read_text()
            assert time.monotonic() < deadline, "the portal did not become ready"
            time.sleep(0.2)
        # The port was free when chosen; if another process took it first, ours has exited and
        # the answer above came from someone else's server.
        time.sleep(0.5)
        assert process.poll() is None, (directory / "server.log").read_text()
        yield Portal(url=url, environment=environment, directory=directory)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with nothing reaching the network on its own. Playwright gives
    each launch a fresh, empty user-data directory of its own, and each test a fresh context
    (cookies, IndexedDB), so no test sees another's state."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: run scripts/install-system-packages"
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGUMENTS))
