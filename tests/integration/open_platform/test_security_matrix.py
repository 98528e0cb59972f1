"""Two members, two apps, every account endpoint: an app reads only the accounts its member linked
to it, only while both consents hold; tokens, codes and PKCE are bound to the app that got them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backbone.identity.dependencies import csrf_token_for
from backbone.identity.domain import Factor
from backbone.open_platform.virtual_accounts.domain import new_number
from tests.identity import flows
from tests.integration.open_platform.conftest import ALICE, World
from tests.integration.open_platform.test_journey_and_api import bearer, complete_journey, tokens_for
from tests.open_platform.journey import check, code_from, exchange_code, pkce_pair

ENDPOINTS = ("balance", "transactions", "portfolio", "watchlist")


def read(world: World, tokens: dict[str, Any], number: str, endpoint: str) -> Any:
    return world.client.get(f"/open/v1/accounts/{number}/{endpoint}", headers=bearer(tokens))


@pytest.fixture
def linked(world: World) -> dict[str, Any]:
    """Alice: HNB linked to app A, SSL linked to app B. Bob: HNB linked to app A."""
    alice_a = complete_journey(world.alice, world.app_a, ["HNB"])
    alice_b = complete_journey(world.alice, world.app_b, ["SSL"])
    bob_a = complete_journey(world.bob, world.app_a, ["HNB"])
    return {
        "alice_a": alice_a[0],
        "alice_b": alice_b[0],
        "bob_a": bob_a[0],
        "alice_tokens_a": tokens_for(world, world.alice, world.app_a),
        "alice_tokens_b": tokens_for(world, world.alice, world.app_b),
        "bob_tokens_a": tokens_for(world, world.bob, world.app_a),
    }


def test_an_app_reads_only_the_accounts_its_member_linked_to_it(world: World, linked: dict[str, Any]) -> None:
    cases = [
        # (token, number, readable)
        ("alice_tokens_a", "alice_a", True),
        ("alice_tokens_a", "alice_b", False),  # Alice's own account, linked to the other app
        ("alice_tokens_a", "bob_a", False),  # another member's account, linked to the same app
        ("alice_tokens_b", "alice_b", True),
        ("alice_tokens_b", "alice_a", False),
        ("alice_tokens_b", "bob_a", False),
        ("bob_tokens_a", "bob_a", True),
        ("bob_tokens_a", "alice_a", False),
        ("bob_tokens_a", "alice_b", False),
    ]
    unknown = new_number()
    for token_name, number_name, readable in cases:
        for endpoint in ENDPOINTS:
            response = read(world, linked[token_name], linked[number_name], endpoint)
            if readable:
                assert response.status_code == 200, (token_name, number_name, endpoint, response.text)
                assert response.json()["virtual_account_number"] == linked[number_name]
            else:
                assert response.status_code == 404, (token_name, number_name, endpoint, response.text)
                assert response.json()["code"] == "platform.unknown_virtual_account"
            stranger = read(world, linked[token_name], unknown, endpoint)
            assert stranger.status_code == 404
            assert stranger.json()["code"] == "platform.unknown_virtual_account"
    for token_name, own in (
        ("alice_tokens_a", ["alice_a"]),
        ("alice_tokens_b", ["alice_b"]),
        ("bob_tokens_a", ["bob_a"]),
    ):
        listed = check(world.client.get("/open/v1/accounts", headers=bearer(linked[token_name])))
        assert [item["virtual_account_number"] for item in listed] == [linked[name] for name in own]
        integrated = check(world.client.get("/open/v1/portfolio", headers=bearer(linked[token_name])))
        assert [item["virtual_account_number"] for item in integrated["accounts"]] == [
            linked[name] for name in own
        ]


def test_a_revoked_consent_stops_the_very_next_read_and_any_refresh(
    world: World, linked: dict[str, Any]
) -> None:
    tokens = linked["alice_tokens_a"]
    assert read(world, tokens, linked["alice_a"], "balance").status_code == 200
    company_a_consent = next(
        consent
        for consent in world.alice.consents()
        if consent["kind"] == "fintech_firm" and consent["firm"] == "HNB" and consent["status"] == "active"
    )
    world.alice.revoke(company_a_consent["id"])
    for endpoint in ENDPOINTS:
        response = read(world, tokens, linked["alice_a"], endpoint)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "platform.consent_revoked"
    assert read(world, linked["alice_tokens_b"], linked["alice_b"], "balance").status_code == 200
    assert read(world, linked["bob_tokens_a"], linked["bob_a"], "balance").status_code == 200
    integrated = check(world.client.get("/open/v1/portfolio", headers=bearer(tokens)))
    assert integrated["complete"] is False
    assert integrated["accounts"][0]["status"] == "consent_revoked"
    assert integrated["accounts"][0]["balance"] is None
    refreshed = world.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(world.app_a.client_id, world.app_a.client_secret),
    )
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"


def test_an_expired_consent_stops_reads_on_the_first_call_after_its_time(
    world: World, linked: dict[str, Any]
) -> None:
    clock = world.container.clock
    consent = next(c for c in world.alice.consents() if c["kind"] == "platform_firm" and c["firm"] == "HNB")
    assert consent["status"] == "active"
    from datetime import datetime  # noqa: PLC0415

    expires = datetime.fromisoformat(consent["expires_at"])
    clock.set(expires - timedelta(minutes=5))  # type: ignore[attr-defined]
    log_in_again(world)  # a year on, the portal session of the journey is long gone
    fresh = tokens_for(world, world.alice, world.app_a)
    assert read(world, fresh, linked["alice_a"], "balance").status_code == 200
    clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    for endpoint in ENDPOINTS:
        response = read(world, fresh, linked["alice_a"], endpoint)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "platform.consent_expired"
    refreshed = world.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"]},
        auth=(world.app_a.client_id, world.app_a.client_secret),
    )
    assert refreshed.json()["error"] == "invalid_grant"


def log_in_again(world: World) -> None:
    """A new portal session for Alice, as a login would give her browser."""
    identity = world.container.identity
    with world.container.database.reading() as session:
        member = identity.members.member_by_personal_identifier(session, ALICE.personal_identifier)
    assert member is not None
    opened = flows.open_session(world.container, member, factor=Factor.CERTIFICATE)
    cookies = world.alice.client.cookies
    cookies.clear()
    cookies.set("backbone_session", opened.session_token, domain="testserver.local")
    cookies.set("backbone_csrf", csrf_token_for(identity, opened.session_token), domain="testserver.local")


def test_codes_tokens_and_pkce_are_bound_to_the_app_and_the_verifier(
    world: World, linked: dict[str, Any]
) -> None:
    client, app_a, app_b = world.client, world.app_a, world.app_b
    verifier, challenge = pkce_pair()

    def fresh_code(**extra: Any) -> str:
        response = world.alice.authorize(app_a.client_id, challenge, **extra)
        assert response.status_code == 302, response.text
        return code_from(response.headers["location"])["code"]

    missing = exchange_code(client, app_a, fresh_code(), None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = exchange_code(client, app_a, fresh_code(), pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    mismatched = exchange_code(
        client, app_a, fresh_code(), verifier, redirect_uri="http://localhost:9000/other"
    )
    assert mismatched.status_code == 400 and mismatched.json()["error"] == "invalid_grant"
    foreign = exchange_code(client, app_b, fresh_code(), verifier)
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant"
    code = fresh_code()
    assert exchange_code(client, app_a, code, verifier).status_code == 200
    reused = exchange_code(client, app_a, code, verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    unregistered = world.alice.authorize(app_a.client_id, challenge, redirect_uri="https://evil.example/cb")
    assert unregistered.status_code == 400 and "location" not in unregistered.headers
    no_pkce = world.alice.request(
        "GET",
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app_a.client_id,
            "redirect_uri": "http://localhost:9000/callback",
        },
        follow_redirects=False,
    )
    assert no_pkce.status_code == 302
    assert code_from(no_pkce.headers["location"])["error"] == "invalid_request"

    tokens_a = linked["alice_tokens_a"]
    stolen_refresh = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens_a["refresh_token"]},
        auth=(app_b.client_id, app_b.client_secret),
    )
    assert stolen_refresh.json()["error"] == "invalid_grant"
    introspected = check(
        client.post(
            "/oauth/introspect",
            data={"token": tokens_a["access_token"]},
            auth=(app_b.client_id, app_b.client_secret),
        )
    )
    assert introspected == {"active": False}
    assert (
        check(
            client.post(
                "/oauth/introspect",
                data={"token": tokens_a["access_token"]},
                auth=(app_a.client_id, app_a.client_secret),
            )
        )["active"]
        is True
    )

    revoked = client.post(
        "/oauth/revoke",
        data={"token": tokens_a["refresh_token"]},
        auth=(app_a.client_id, app_a.client_secret),
    )
    assert revoked.status_code == 200
    after = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens_a["refresh_token"]},
        auth=(app_a.client_id, app_a.client_secret),
    )
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
    client.post(
        "/oauth/revoke", data={"token": tokens_a["access_token"]}, auth=(app_a.client_id, app_a.client_secret)
    )
    rejected = read(world, tokens_a, linked["alice_a"], "balance")
    assert rejected.status_code == 401 and rejected.json()["code"] == "oauth.invalid_token"


def test_a_member_who_has_not_finished_the_journey_is_told_so_at_authorization(world: World) -> None:
    world.bob.apply(world.app_b.client_id)
    response = world.bob.authorize(world.app_b.client_id, pkce_pair()[1])
    assert response.status_code == 403
    assert response.json()["code"] == "platform.journey_incomplete"
    assert response.json()["missing"][0]["step"] == "virtual_account"
