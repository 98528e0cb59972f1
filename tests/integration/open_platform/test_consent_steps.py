"""The journey's consent rules over HTTP: each firm needs its own platform consent before its
accounts can be linked; the fintech consent by ARS (the member keys the shown digits on the phone
call); and every consent change lands in the platform's audit log."""

from __future__ import annotations

from typing import Any

from backbone.identity.attempts import counting
from backbone.open_platform.audit.repository import changes_of_member
from tests.integration.open_platform.conftest import ALICE, World
from tests.integration.open_platform.test_journey_and_api import bearer, tokens_for
from tests.open_platform.journey import PORTAL, check


def member_id(world: World) -> int:
    with world.container.database.reading() as session:
        member = world.container.identity.members.member_by_personal_identifier(
            session, ALICE.personal_identifier
        )
    assert member is not None
    return member.id


def issue_both(world: World) -> dict[str, str]:
    alice = world.alice
    alice.apply(world.app_a.client_id)
    return {
        firm: alice.issue(firm, alice.firm_accounts(firm)[0]["number"], "주식") for firm in ("HNB", "SSL")
    }


def test_each_firm_needs_its_own_platform_consent_before_linking(world: World) -> None:
    numbers = issue_both(world)
    world.alice.sign_platform_consent("HNB")
    refused = world.alice.request(
        "PUT",
        f"{PORTAL}/memberships/{world.app_a.client_id}/accounts",
        json={"virtual_account_numbers": list(numbers.values())},
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "platform.consent_required"
    assert refused.json()["missing"] == ["SSL"]

    world.alice.sign_platform_consent("SSL")
    world.alice.link(world.app_a.client_id, list(numbers.values()))


def test_the_fintech_consent_by_ars_call(world: World) -> None:
    numbers = issue_both(world)
    for firm in numbers:
        world.alice.sign_platform_consent(firm)
    world.alice.link(world.app_a.client_id, list(numbers.values()))
    started: dict[str, Any] = check(
        world.alice.request(
            "POST",
            f"{PORTAL}/consent-requests/fintech-firm",
            json={"client_id": world.app_a.client_id, "method": "ars"},
        ),
        201,
    )
    assert started["ars_call_id"] and started["ars_digits"]
    complete = f"{PORTAL}/consent-requests/{started['request_id']}/complete"
    early = world.alice.request("POST", complete, json={})
    assert early.status_code >= 400 and early.headers["content-type"].startswith("application/problem+json")

    container = world.container
    counting(  # the member keys the digits shown on screen into the phone call
        container.database,
        lambda session: container.identity.ars.keypad(
            session, call_id=int(started["ars_call_id"]), digits=started["ars_digits"]
        ),
    )
    made = check(world.alice.request("POST", complete, json={}), 201)

    assert {item["firm"] for item in made} == {"HNB", "SSL"}
    assert all(item["kind"] == "fintech_firm" and item["method"] == "ars" for item in made)
    tokens = tokens_for(world, world.alice, world.app_a)
    portfolio = check(world.client.get("/open/v1/portfolio", headers=bearer(tokens)))
    assert portfolio["complete"] is True


def test_every_consent_change_is_in_the_audit_log(world: World) -> None:
    numbers = issue_both(world)
    for firm in numbers:
        world.alice.sign_platform_consent(firm)
    world.alice.link(world.app_a.client_id, list(numbers.values()))
    world.alice.sign_fintech_consent(world.app_a.client_id)
    revoked = next(item for item in world.alice.consents() if item["kind"] == "fintech_firm")
    world.alice.revoke(revoked["id"])

    with world.container.database.reading() as session:
        changes = changes_of_member(session, member_id(world), 100)
    actions = [change.action for change in changes]
    assert actions.count("consent.signed") == 4  # two platform consents, the fintech one per firm
    assert actions.count("consent.revoke") == 1
    assert any(
        change.consent_id == int(revoked["id"]) for change in changes if change.action == "consent.revoke"
    )
    assert {"membership.applied", "virtual_account.issued"} <= set(actions)
