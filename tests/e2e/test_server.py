"""The real server over real HTTP: health, readiness, documentation and the back office."""

from __future__ import annotations

import json
import time

import httpx

from tests.conftest import OPERATOR_TOKEN
from tests.e2e.conftest import Server

LOG_WAIT_S = 10
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ready"


def test_openapi_document_and_docs_pages_are_served(server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/api/backoffice/v1/firms/{firm}/accounts/{number}/deposits" in document["paths"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_a_deposit_and_a_refused_withdrawal_over_http(server: Server) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        account = client.get("/api/backoffice/v1/firms/HNB/accounts").json()[0]["number"]
        path = f"/api/backoffice/v1/firms/HNB/accounts/{account}"
        before = client.get(f"{path}/balance").json()["cash_won"]
        deposited = client.post(
            f"{path}/deposits", json={"amount_won": 12_345}, headers={"Idempotency-Key": "e2e-1"}
        )
        assert deposited.status_code == 201
        refused = client.post(
            f"{path}/withdrawals", json={"amount_won": before + 12_346}, headers={"Idempotency-Key": "e2e-2"}
        )
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "brokerage.exceeds_withdrawable"
        assert client.get(f"{path}/balance").json()["cash_won"] == before + 12_345


def test_logs_are_json_lines_with_a_request_id(server: Server) -> None:
    response = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "e2e-request-000001"})
    assert response.headers["x-request-id"] == "e2e-request-000001"
    # The access line is written once the response has gone out, so it may trail the response.
    deadline = time.monotonic() + LOG_WAIT_S
    while not any(
        line["request_id"] == "e2e-request-000001" and line["route"] == "/healthz"
        for line in request_lines(server)
    ):
        assert time.monotonic() < deadline, "no http.request line with the request id"
        time.sleep(0.05)


def request_lines(server: Server) -> list[dict[str, str]]:
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "http.request"]


def _samples(text: str, name: str, **labels: str) -> float:
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and all(label in line for label in wanted)
    )


def test_metrics_count_each_request_by_route_and_status(server: Server) -> None:
    def counted() -> tuple[float, float, float]:
        text = httpx.get(f"{server.url}/metrics").text
        return (
            _samples(text, "backbone_http_requests_total", route="/healthz", status="200"),
            _samples(text, "backbone_http_requests_total", route="unmatched", status="404"),
            _samples(text, "backbone_http_request_duration_seconds_count", route="/healthz"),
        )

    healthy, missing, timed = counted()
    for _ in range(3):
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/no-such-page").status_code == 404
    assert counted() == (healthy + 3, missing + 1, timed + 3)
