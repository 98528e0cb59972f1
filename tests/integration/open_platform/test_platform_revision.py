"""The platform's revision: database triggers raise it with every change to the tables an open
API call's authorization reads, so what a process keeps from them is never stale — not even after
a write that bypasses the services."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from backbone.bootstrap import Container
from backbone.open_platform.reads import platform_revision
from tests.integration.open_platform.conftest import World
from tests.integration.open_platform.test_journey_and_api import bearer, complete_journey, tokens_for
from tests.statements import selects

# each watched table with a column to write back unchanged and a column that picks one row
WATCHED = {
    "platform_apps": ("name", "id"),
    "platform_memberships": ("status", "id"),
    "platform_firms": ("name_en", "id"),
    "platform_virtual_accounts": ("alias", "id"),
    "platform_account_links": ("linked_at", "virtual_account_id"),
    "platform_consents": ("status", "id"),
    "brokerage_accounts": ("alias", "id"),
    "brokerage_customers": ("name", "id"),
}


def revision(container: Container) -> int:
    with container.database.reading() as session:
        return platform_revision(session)


@pytest.fixture
def alice(world: World) -> dict[str, Any]:
    numbers = complete_journey(world.alice, world.app_a, ["HNB"])
    return {"number": numbers[0], "tokens": tokens_for(world, world.alice, world.app_a)}


def test_any_write_to_a_watched_table_raises_the_revision(world: World, alice: dict[str, Any]) -> None:
    for table, (column, key) in WATCHED.items():
        before = revision(world.container)
        with world.container.database.transaction() as session:
            updated = session.connection().execute(
                text(f"UPDATE {table} SET {column} = {column} WHERE {key} = (SELECT min({key}) FROM {table})")
            )
            assert updated.rowcount == 1, table
        assert revision(world.container) > before, table
    before = revision(world.container)
    world.client.post(
        "/oauth/revoke",
        data={"token": alice["tokens"]["access_token"], "token_type_hint": "access_token"},
        auth=(world.app_a.client_id, world.app_a.client_secret),
    )
    assert revision(world.container) > before  # platform_revoked_tokens


def test_kept_reads_spare_the_joins_and_see_a_write_that_bypassed_the_services(
    world: World, alice: dict[str, Any]
) -> None:
    headers = bearer(alice["tokens"])
    assert world.client.get("/open/v1/portfolio", headers=headers).status_code == 200
    with selects(world.container.database.engine) as seen:
        assert world.client.get("/open/v1/portfolio", headers=headers).status_code == 200
    assert not [statement for statement in seen if "platform_account_links" in statement]
    assert not [statement for statement in seen if "platform_revoked_tokens" in statement]
    assert [statement for statement in seen if "platform_revision" in statement]
    with world.container.database.transaction() as session:
        session.execute(text("UPDATE platform_consents SET status = 'revoked' WHERE kind = 'fintech_firm'"))
    answer = world.client.get(f"/open/v1/accounts/{alice['number']}/balance", headers=headers)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "platform.consent_revoked"
