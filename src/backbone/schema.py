"""The database schema: every table's metadata, and the Alembic migrations that build it.

`upgrade()` is what `backbone db upgrade` runs; `revisions()` tells `/readyz` whether the
database is at the revision the code expects.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

from backbone.brokerage import models as brokerage_models
from backbone.exchange import models as exchange_models
from backbone.identity import models as identity_models
from backbone.kit.db import Base
from backbone.ledger import models as ledger_models
from backbone.open_platform import models as open_platform_models

# Importing the model modules registers their tables on Base.metadata.
MODEL_MODULES = (ledger_models, brokerage_models, exchange_models, identity_models, open_platform_models)
MIGRATIONS = Path(__file__).with_name("migrations")


def metadata() -> MetaData:
    return Base.metadata


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head revision)."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, head
