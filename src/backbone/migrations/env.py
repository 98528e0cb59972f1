"""Alembic environment: migrations run on the engine `backbone.schema` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from backbone.kit.db import is_sqlite
from backbone.schema import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `backbone db upgrade` (backbone.schema.upgrade)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=is_sqlite(engine),  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
