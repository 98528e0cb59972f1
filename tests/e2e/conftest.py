"""End-to-end fixtures: the real `backbone` command and a real server on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import OPERATOR_TOKEN
from tests.postgresql import free_port

SERVER_START_S_MAX = 60


@dataclass(frozen=True)
class Installation:
    """A database, a var/ directory and the environment that points `backbone` at them."""

    directory: Path
    environment: dict[str, str]

    @property
    def database_path(self) -> Path:
        return self.directory / "backbone.sqlite3"

    def run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "backbone", *arguments],
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"backbone {' '.join(arguments)} failed:\n{completed.stdout}\n{completed.stderr}"
            )
        return completed


def make_installation(directory: Path) -> Installation:
    environment = {
        **os.environ,
        "BACKBONE_DATABASE_URL": f"sqlite:///{directory / 'backbone.sqlite3'}",
        "BACKBONE_VAR_DIRECTORY": str(directory),
        "BACKBONE_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "COLUMNS": "160",
    }
    return Installation(directory, environment)


@pytest.fixture(scope="module")
def demo_installation(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    installation = make_installation(tmp_path_factory.mktemp("installation"))
    installation.run("db", "upgrade")
    installation.run("demo", "seed")
    return installation


@dataclass(frozen=True)
class Server:
    url: str
    installation: Installation
    log: Path
    process: subprocess.Popen[bytes] | None = None


@pytest.fixture(scope="module")
def server(demo_installation: Installation) -> Iterator[Server]:
    port = free_port()
    log = demo_installation.directory / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "backbone", "serve", "--port", str(port)],
            env=demo_installation.environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S_MAX
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(url, demo_installation, log)
    finally:
        process.terminate()
        process.wait(timeout=20)


MARKET_MONDAY_MORNING = "2026-11-23T08:00:00+09:00"


@pytest.fixture
def market_server(tmp_path: Path) -> Iterator[Server]:
    """A server that runs the market on a simulated clock (Monday 08:00 in Seoul), migrated, empty."""
    installation = make_installation(tmp_path)
    environment = {
        **installation.environment,
        "BACKBONE_SIMULATED_CLOCK_START": MARKET_MONDAY_MORNING,
        "BACKBONE_COOKIE_SECURE": "false",  # plain http on the loopback
        "BACKBONE_LOG_LEVEL": "WARNING",
    }
    installation = Installation(tmp_path, environment)
    installation.run("db", "upgrade")
    yield from _serve(installation)


SERVE = ["-m", "backbone", "serve"]


def _serve(installation: Installation) -> Iterator[Server]:
    with serving(installation) as server:
        yield server


@contextmanager
def serving(installation: Installation, command: list[str] = SERVE) -> Iterator[Server]:
    """`python COMMAND --port PORT` on a free port, until it answers /readyz; stopped after."""
    port = free_port()
    log = installation.directory / "server.log"
    with log.open("a") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, *command, "--port", str(port)],
            env=installation.environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S_MAX
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(url, installation, log, process)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
