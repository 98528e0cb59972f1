"""Consent events to apps: queued in the same transaction as the change that causes them (so an
event is never lost nor sent for a change that rolled back), then delivered by a worker, signed
with the app's secret, retried with backoff, every attempt logged."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session

from backbone.kit import faults
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.kit.faults import Point
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger
from backbone.open_platform.companies import repository as companies_repository
from backbone.open_platform.companies.domain import App
from backbone.open_platform.webhooks import repository
from backbone.open_platform.webhooks.domain import (
    DELIVERIES_PER_RUN_MAX,
    DELIVERY_HEADER,
    DELIVERY_TIMEOUT_MS,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    DeliveryStatus,
    EventType,
    next_delay_s,
    signature,
)

log = get_logger("backbone.open_platform.webhooks")
GIVE_UP_DELAY_S = 0


class Webhooks:
    def __init__(self, *, clock: Clock, ids: IdGenerator, client: httpx.Client | None = None) -> None:
        self._clock = clock
        self._ids = ids
        self._client = client

    def enqueue(self, session: Session, *, app_id: int, event_type: EventType, data: dict[str, Any]) -> None:
        """Queue an event for an app with a webhook; an app without one is simply not told."""
        app = companies_repository.app_by_id(session, app_id)
        if app is None or app.webhook_url is None:
            return
        now = self._clock.now()
        event_id = f"evt_{self._ids.next()}"
        payload = json.dumps(
            {"id": event_id, "type": event_type.value, "occurred_at": now.isoformat(), "data": data},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )
        repository.insert_delivery(
            session,
            delivery_id=self._ids.next(),
            app_id=app_id,
            event_id=event_id,
            event_type=event_type.value,
            payload=payload,
            at=now,
        )

    def deliver_due(self, database: Database) -> int:
        """Try every delivery that is due; returns how many were attempted."""
        now = self._clock.now()
        with database.reading() as session:
            due = repository.due_deliveries(session, now, DELIVERIES_PER_RUN_MAX)
            targets = {
                delivery.app_id: companies_repository.app_by_id(session, delivery.app_id) for delivery in due
            }
        for delivery in due:
            try:
                self._attempt(database, delivery, targets[delivery.app_id])
            except Exception as failure:  # this delivery alone: it stays pending, tried next run
                log.error("platform.webhook_attempt_failed", delivery_id=delivery.id, exc_info=failure)
        return len(due)

    def _attempt(self, database: Database, delivery: repository.Delivery, app: App | None) -> None:
        """One try of one delivery, and its line in the delivery log."""
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        if app is None or app.webhook_url is None or app.webhook_secret is None:
            error = "the app has no webhook any more"
        else:
            body = delivery.payload.encode()
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(app.webhook_secret, int(self._clock.now().timestamp()), body),
                EVENT_HEADER: delivery.event_type,
                DELIVERY_HEADER: delivery.event_id,
            }
            try:
                faults.hit(Point.WEBHOOK_DELIVERY)
                response = self._http().post(
                    app.webhook_url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_MS / 1000
                )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"the receiver answered {status_code}"
            except (httpx.HTTPError, httpx.InvalidURL) as failure:
                error = f"{type(failure).__name__}"
        duration_ms = int((time.perf_counter() - started) * 1000)
        at = self._clock.now()
        if error is None:
            status, next_at = DeliveryStatus.DELIVERED, at
        else:
            delay = next_delay_s(delivery.attempts + 1)
            status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.PENDING
            next_at = at + timedelta(seconds=delay or GIVE_UP_DELAY_S)
        with database.transaction() as session:
            repository.record_attempt(
                session,
                attempt_id=self._ids.next(),
                delivery=delivery,
                at=at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                status=status,
                next_attempt_at=next_at,
            )
        log.info(
            "platform.webhook_attempt",
            delivery_id=delivery.id,
            app_id=delivery.app_id,
            status=status.value,
            status_code=status_code,
        )

    def deliveries(self, session: Session, app_id: int, limit: int) -> list[repository.Delivery]:
        return repository.deliveries_of_app(session, app_id, limit)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
