"""Consent events reach the app's own receiver (a real HTTP server started here): signed with
HMAC-SHA256 and checked by the receiver, retried on the backoff schedule of the injected clock
after the receiver fails, every attempt in the delivery log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backbone.kit import faults
from backbone.kit.clock import SimulatedClock
from backbone.kit.faults import Point
from backbone.open_platform.webhooks.domain import BACKOFF_S
from backbone.open_platform.webhooks.worker import run_once
from tests.integration.open_platform.conftest import ALICE, World
from tests.integration.open_platform.test_journey_and_api import complete_journey
from tests.integration.open_platform.test_security_matrix import log_in_again
from tests.open_platform.journey import BUSINESS, check
from tests.open_platform.webhook_receiver import Receiver, running_receiver


def deliver(world: World) -> int:
    """One run of the webhook worker, as `backbone serve`'s thread makes every few seconds."""
    return run_once(world.container.open_platform, world.container.database)[1]


def delivery_log(world: World) -> list[dict[str, Any]]:
    app = world.app_a
    found: list[dict[str, Any]] = check(
        world.client.get(
            f"{BUSINESS}/apps/{app.client_id}/webhook-deliveries",
            headers={"Authorization": f"Bearer {app.company_key}"},
        )
    )
    return found


def pairwise_subject(world: World) -> str:
    """The subject the app knows Alice by (the `sub` of its tokens)."""
    container = world.container
    with container.database.reading() as session:
        member = container.identity.members.member_by_personal_identifier(session, ALICE.personal_identifier)
        assert member is not None
        return container.open_platform.journey.memberships(session, member.id)[0].subject


def consent(world: World, kind: str, status: str = "active") -> dict[str, Any]:
    return next(
        item
        for item in world.alice.consents()
        if item["kind"] == kind and item["firm"] == "HNB" and item["status"] == status
    )


def test_consent_events_are_signed_retried_with_backoff_and_logged(
    world: World, clock: SimulatedClock
) -> None:
    complete_journey(world.alice, world.app_a, ["HNB"])
    subject = pairwise_subject(world)
    receiver = Receiver(now=clock.now, script=[500, 503])
    with running_receiver(receiver) as url:
        registered = check(
            world.client.put(
                f"{BUSINESS}/apps/{world.app_a.client_id}/webhook",
                json={"url": url},
                headers={"Authorization": f"Bearer {world.app_a.company_key}"},
            )
        )
        receiver.secret = registered["secret"]

        # Renewed: the platform consent signed again in its last month.
        platform = consent(world, "platform_firm")
        fintech = consent(world, "fintech_firm")
        clock.set(datetime.fromisoformat(platform["expires_at"]) - timedelta(days=10))
        log_in_again(world)
        world.alice.sign_platform_consent("HNB")
        assert deliver(world) == 1
        assert receiver.received[-1].answered == 500
        assert deliver(world) == 0  # not due yet: the next try waits its backoff
        clock.advance(timedelta(seconds=BACKOFF_S[0]))
        assert deliver(world) == 1
        assert receiver.received[-1].answered == 503
        clock.advance(timedelta(seconds=BACKOFF_S[1] - 1))
        assert deliver(world) == 0
        clock.advance(timedelta(seconds=1))
        assert deliver(world) == 1
        assert receiver.received[-1].answered == 200
        log = delivery_log(world)
        assert [
            (item["event_type"], item["status"], item["attempts"], item["last_status_code"]) for item in log
        ] == [("consent.renewed", "delivered", 3, 200)]

        # Expired: the fintech consent lapses; the worker marks it and tells the app.
        clock.set(datetime.fromisoformat(fintech["expires_at"]) + timedelta(seconds=1))
        assert deliver(world) == 1

        # Revoked: the member revokes the renewed platform consent.
        log_in_again(world)
        world.alice.revoke(consent(world, "platform_firm")["id"])
        assert deliver(world) == 1

    assert all(item.verified for item in receiver.received)
    assert [item.event_type for item in receiver.received] == [
        "consent.renewed",
        "consent.renewed",
        "consent.renewed",
        "consent.expired",
        "consent.revoked",
    ]
    renewed = receiver.received[:3]
    assert len({item.delivery for item in renewed}) == 1  # one delivery, tried three times
    assert renewed[0].body["data"]["consent_id"] == platform["id"]
    assert renewed[0].body["data"]["renewed_by"] is not None
    assert receiver.received[3].body["data"]["consent_id"] == fintech["id"]
    assert all(item.body["data"]["subject"] == subject for item in receiver.received)
    log = delivery_log(world)
    assert [(item["event_type"], item["status"]) for item in log] == [
        ("consent.revoked", "delivered"),
        ("consent.expired", "delivered"),
        ("consent.renewed", "delivered"),
    ]


def test_a_receiver_refuses_a_body_that_is_not_the_signed_one(world: World, clock: SimulatedClock) -> None:
    """The signature covers the exact bytes: the receiver's check is not a formality."""
    from backbone.open_platform.webhooks.domain import signature  # noqa: PLC0415

    receiver = Receiver(now=clock.now, secret="whsec_test")
    body = b'{"type":"consent.revoked"}'
    header = signature("whsec_test", int(clock.now().timestamp()), body)
    assert receiver.verify(header, body)
    assert not receiver.verify(header, body.replace(b"revoked", b"renewed"))
    assert not receiver.verify(signature("whsec_other", int(clock.now().timestamp()), body), body)
    stale = signature("whsec_test", int(clock.now().timestamp()) - 301, body)
    assert not receiver.verify(stale, body)


def test_a_delivery_that_fails_inside_the_worker_stays_pending_and_the_others_go_out(
    world: World, clock: SimulatedClock
) -> None:
    """A fault while one delivery is tried (a bug, a database error while logging it) is that
    delivery's alone: the run goes on with the next, and the failed one is tried again later."""
    complete_journey(world.alice, world.app_a, ["HNB"])
    receiver = Receiver(now=clock.now)
    with running_receiver(receiver) as url:
        registered = check(
            world.client.put(
                f"{BUSINESS}/apps/{world.app_a.client_id}/webhook",
                json={"url": url},
                headers={"Authorization": f"Bearer {world.app_a.company_key}"},
            )
        )
        receiver.secret = registered["secret"]
        log_in_again(world)
        world.alice.revoke(consent(world, "platform_firm")["id"])
        world.alice.revoke(consent(world, "fintech_firm")["id"])
        with faults.armed(Point.WEBHOOK_DELIVERY, RuntimeError("a bug while sending")):
            assert deliver(world) == 2
        assert len(receiver.received) == 1
        statuses = sorted((item["status"], item["attempts"]) for item in delivery_log(world))
        assert statuses == [("delivered", 1), ("pending", 0)]
        assert deliver(world) == 1
        assert len(receiver.received) == 2
    assert all(item["status"] == "delivered" for item in delivery_log(world))
