"""Every query about webhook deliveries and their attempts (the delivery log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from backbone.open_platform.models import WebhookAttemptRow, WebhookDeliveryRow
from backbone.open_platform.webhooks.domain import DeliveryStatus


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    app_id: int
    event_id: str
    event_type: str
    payload: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        app_id=row.app_id,
        event_id=row.event_id,
        event_type=row.event_type,
        payload=row.payload,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def insert_delivery(
    session: Session,
    *,
    delivery_id: int,
    app_id: int,
    event_id: str,
    event_type: str,
    payload: str,
    at: datetime,
) -> None:
    session.execute(
        insert(WebhookDeliveryRow).values(
            id=delivery_id,
            app_id=app_id,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=at,
            last_status_code=None,
            last_error=None,
            created_at=at,
            delivered_at=None,
        )
    )


def due_deliveries(session: Session, now: datetime, limit: int) -> list[Delivery]:
    rows = session.scalars(
        select(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
            WebhookDeliveryRow.next_attempt_at <= now,
        )
        .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
        .limit(limit)
    )
    return [_delivery(row) for row in rows]


def record_attempt(
    session: Session,
    *,
    attempt_id: int,
    delivery: Delivery,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    status: DeliveryStatus,
    next_attempt_at: datetime,
) -> None:
    session.execute(
        insert(WebhookAttemptRow).values(
            id=attempt_id,
            delivery_id=delivery.id,
            attempted_at=at,
            status_code=status_code,
            error=None if error is None else error[:200],
            duration_ms=duration_ms,
        )
    )
    session.execute(
        update(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id == delivery.id)
        .values(
            status=status.value,
            attempts=delivery.attempts + 1,
            next_attempt_at=next_attempt_at,
            last_status_code=status_code,
            last_error=None if error is None else error[:200],
            delivered_at=at if status is DeliveryStatus.DELIVERED else None,
        )
    )


def deliveries_of_app(session: Session, app_id: int, limit: int) -> list[Delivery]:
    rows = session.scalars(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.app_id == app_id)
        .order_by(WebhookDeliveryRow.id.desc())
        .limit(limit)
    )
    return [_delivery(row) for row in rows]
