"""A securities firm's own system, as a real HTTP server on a free loopback port: it answers the
platform's firm API (see `backbone.open_platform.adapters.http_firm`) for one person's accounts,
and can be told to be slow, to fail, or to be healthy again. It counts every request it gets."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

PERSON_HEADER = "X-Personal-Identifier"


@dataclass
class FirmBehaviour:
    person: str
    accounts: dict[str, dict[str, Any]]  # number → balance body
    mode: str = "ok"  # ok | slow | fail
    delay_s: float = 0.0
    hits: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> None:
        with self.lock:
            self.hits[path] += 1

    def requests(self) -> int:
        with self.lock:
            return sum(self.hits.values())


def balance_body(cash: int, positions: list[tuple[str, int, int, int]]) -> dict[str, Any]:
    """positions: (instrument, shares, average price, last price)."""
    return {
        "cash_won": cash,
        "cash_next_day_won": cash,
        "cash_second_day_won": cash,
        "withdrawable_won": cash,
        "buying_power_won": cash,
        "positions": [
            {
                "instrument": code,
                "quantity_micro": shares * 1_000_000,
                "sellable_micro": shares * 1_000_000,
                "average_price_won": average,
                "cost_won": shares * average,
                "last_price_won": last,
                "valuation_won": shares * last,
                "profit_won": shares * (last - average),
            }
            for code, shares, average, last in positions
        ],
    }


def _handler(behaviour: FirmBehaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            behaviour.count(path)
            if behaviour.mode == "slow":
                time.sleep(behaviour.delay_s)
            if behaviour.mode == "fail":
                self._send(500, {"error": "internal"})
                return
            if self.headers.get(PERSON_HEADER) != behaviour.person:
                self._send(404, {"error": "no such person"})
                return
            self._answer(path.removeprefix("/firm-api").strip("/").split("/"))

        def _answer(self, parts: list[str]) -> None:
            if parts == ["accounts"]:
                self._send(200, [self._account(number) for number in behaviour.accounts])
            elif len(parts) >= 2 and parts[0] == "accounts" and parts[1] in behaviour.accounts:
                number = parts[1]
                if len(parts) == 2:
                    self._send(200, self._account(number))
                elif parts[2:] == ["balance"]:
                    self._send(200, behaviour.accounts[number])
                else:
                    self._send(404, {"error": "not offered"})
            else:
                self._send(404, {"error": "no such account"})

        @staticmethod
        def _account(number: str) -> dict[str, Any]:
            return {"number": number, "display_number": number, "account_type": "general", "alias": "위탁"}

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the platform gave up waiting
                return

    return Handler


@contextmanager
def running_firm(behaviour: FirmBehaviour) -> Iterator[str]:
    """Serves the behaviour on 127.0.0.1 at a free port; yields the firm API's base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="firm-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/firm-api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
