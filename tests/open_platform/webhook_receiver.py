"""An app's webhook receiver, as a real HTTP server on a free loopback port. It checks each
delivery's `Backbone-Signature` the way an app would (its own HMAC-SHA256 over "t.body" with the
secret the platform gave, compared in constant time, timestamp within five minutes of its clock)
and answers with the next status of its script (then 200)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_S = 300


@dataclass(frozen=True)
class Received:
    event_type: str
    delivery: str
    body: dict[str, Any]
    verified: bool
    answered: int


@dataclass
class Receiver:
    now: Callable[[], datetime]
    script: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, header: str, body: bytes) -> bool:
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        if not parts.get("t", "").isdigit() or "v1" not in parts:
            return False
        timestamp = int(parts["t"])
        if abs(self.now().timestamp() - timestamp) > TOLERANCE_S:
            return False
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest(expected.hexdigest(), parts["v1"])

    def take(self, received: Received) -> None:
        with self.lock:
            self.received.append(received)

    def next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else 200

    def count(self) -> int:
        with self.lock:
            return len(self.received)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            verified = receiver.verify(self.headers.get("Backbone-Signature", ""), body)
            status = receiver.next_status() if verified else 401
            receiver.take(
                Received(
                    event_type=self.headers.get("Backbone-Event", ""),
                    delivery=self.headers.get("Backbone-Delivery", ""),
                    body=json.loads(body),
                    verified=verified,
                    answered=status,
                )
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def running_receiver(receiver: Receiver) -> Iterator[str]:
    """Serves on 127.0.0.1 at a free port; yields the webhook URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/backbone"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
