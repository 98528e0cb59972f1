"""Webhooks, pure: the events an app is told about, how a delivery is signed, and when a failed
delivery is tried again.

Signature header (the scheme Stripe and Standard Webhooks made familiar):

    Backbone-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

A receiver recomputes the HMAC over the timestamp and the exact bytes received, compares in
constant time, and refuses a timestamp older than a few minutes (replay).
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Final

SIGNATURE_HEADER: Final = "Backbone-Signature"
EVENT_HEADER: Final = "Backbone-Event"
DELIVERY_HEADER: Final = "Backbone-Delivery"
# Seconds to wait after the n-th failed attempt; after the last, the delivery is given up (failed).
BACKOFF_S: Final = (10, 30, 120, 600, 1_800, 7_200, 21_600)
ATTEMPTS_MAX: Final = len(BACKOFF_S) + 1
DELIVERY_TIMEOUT_MS: Final = 5_000
DELIVERIES_PER_RUN_MAX: Final = 100
SIGNATURE_TOLERANCE_S: Final = 300


class EventType(StrEnum):
    CONSENT_REVOKED = "consent.revoked"
    CONSENT_EXPIRED = "consent.expired"
    CONSENT_RENEWED = "consent.renewed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed; kept in the log


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, now: int) -> bool:
    """What a receiver does (tests use it as the receiver)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_S:
        return False
    expected = signature(secret, timestamp, body).split(",", 1)[1].removeprefix("v1=")
    return hmac.compare_digest(expected, parts.get("v1", ""))


def next_delay_s(attempts: int) -> int | None:
    """Seconds before the next attempt after `attempts` failed ones, or None: give up."""
    if attempts >= ATTEMPTS_MAX:
        return None
    return BACKOFF_S[attempts - 1]
