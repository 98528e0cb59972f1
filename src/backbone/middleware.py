"""ASGI middleware for every request: a request id, one log line, metrics, and a body-size limit.

Written as plain ASGI (not Starlette's BaseHTTPMiddleware) because it sits on the order path and
must cost microseconds, and because it must not buffer WebSocket traffic.
"""

from __future__ import annotations

import functools
import itertools
import re
import secrets
import time
from typing import Any

import orjson
from fastapi.telemetry import TelemetryConfig
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backbone.kit.logs import get_logger

BODY_BYTES_MAX = 1_048_576
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = get_logger("backbone.http")
# A request id is a random prefix per process and a counter: unique without asking the kernel for
# random bytes on every request (measured at a few per cent of an open API call's CPU here).
_REQUEST_ID_PREFIX = secrets.token_hex(4)
_REQUEST_NUMBERS = itertools.count(1)

# Backbone reports through Prometheus (/metrics) and structlog. FastAPI's OpenTelemetry hook asks
# the global providers whether anyone listens on every request of every app (about 13 µs an app a
# call, measured), so every Backbone app switches it off.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

REQUESTS = Counter("backbone_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "backbone_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class PayloadTooLarge(Exception):
    pass


def _too_large_body(request_id: str, path: str) -> bytes:
    return orjson.dumps(
        {
            "type": "/problems/http.payload_too_large",
            "title": "The request body is too large",
            "status": 413,
            "detail": f"request bodies are limited to {BODY_BYTES_MAX:,} bytes",
            "instance": path,
            "code": "http.payload_too_large",
            "request_id": request_id,
        }
    )


@functools.lru_cache(maxsize=4096)
def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The request's counter and latency series: `labels()` checks and locks on every call,
    which cost more than the count itself on the open API's busiest call. Bounded: the routes
    are templates, the methods and statuses few."""
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)


class RequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        declared = self._declared_length(scope)
        if declared is not None and declared > BODY_BYTES_MAX:
            status = 413
            await self._send_too_large(send, request_id, scope["path"])
            self._record(scope, status, started, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > BODY_BYTES_MAX:
                    raise PayloadTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            status = 413
            await self._send_too_large(send, request_id, scope["path"])
        finally:
            self._record(scope, status, started, request_id)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                candidate = str(value.decode("latin-1"))
                if REQUEST_ID_PATTERN.match(candidate):
                    return candidate
        return f"{_REQUEST_ID_PREFIX}{next(_REQUEST_NUMBERS) & 0xFFFFFFFF:08x}"

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    @staticmethod
    async def _send_too_large(send: Send, request_id: str, path: str) -> None:
        body = _too_large_body(request_id, path)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _record(scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = time.perf_counter() - started
        route: Any = scope.get("route")
        template = getattr(route, "path", "unmatched")
        method = scope.get("method", "")
        counted, timed = _series(method, template, status)
        counted.inc()
        timed.observe(elapsed)
        log.info(
            "http.request",
            method=method,
            route=template,
            status=status,
            duration_ms=round(elapsed * 1000, 3),
            request_id=request_id,
        )
