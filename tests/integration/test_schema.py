"""Migrations: the models match them, and they go down and up again, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backbone import schema
from backbone.bootstrap import Container


def test_the_models_match_the_migrations(container: Container) -> None:
    with container.database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.metadata())
    assert differences == []


def test_migrations_go_down_to_nothing_and_up_again(container: Container) -> None:
    engine = container.database.engine
    schema.downgrade(engine, "base")
    assert schema.revisions(engine)[0] is None
    schema.upgrade(engine)
    current, head = schema.revisions(engine)
    assert current == head is not None
