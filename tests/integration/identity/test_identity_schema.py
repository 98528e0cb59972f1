"""Migration 0002 builds exactly the identity tables the models describe, on both engines, and
can be undone and redone."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from backbone import schema
from backbone.bootstrap import Container


def _table_of(difference: Any) -> str:
    """The table a difference concerns (alembic reports tuples, or lists of tuples for columns)."""
    item = difference[0] if isinstance(difference, list) else difference
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part.startswith("identity_"):
            return part
        if name and str(name).startswith("identity_"):
            return str(name)
    return ""


def test_the_identity_models_match_the_migrated_database(container: Container) -> None:
    with container.database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, schema.metadata())
    identity = [difference for difference in differences if _table_of(difference).startswith("identity_")]
    assert identity == []


def test_the_identity_migration_downgrades_and_upgrades_again(container: Container) -> None:
    engine = container.database.engine
    schema.downgrade(engine, "0001")
    assert not any(name.startswith("identity_") for name in inspect(engine).get_table_names())
    schema.upgrade(engine)
    current, head = schema.revisions(engine)
    assert current == head
    assert "identity_members" in inspect(engine).get_table_names()
