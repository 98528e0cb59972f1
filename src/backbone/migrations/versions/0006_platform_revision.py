"""The platform's revision: one number raised by triggers, in the changing transaction, with every
insert, update or delete of the tables an open API call's authorization reads — the platform's
own, and the brokerage core's accounts and customers, which the in-process firms check each read
against. A process keeps the token's app and membership, the app's linked accounts with their
consents and the accounts' holders as it read them, and reads them again only when the number
moved (one tiny query per call instead of three joins).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED_TABLES = (
    "platform_apps",
    "platform_memberships",
    "platform_firms",
    "platform_virtual_accounts",
    "platform_account_links",
    "platform_consents",
    "platform_revoked_tokens",
    "brokerage_accounts",
    "brokerage_customers",
)
EVENTS = ("INSERT", "UPDATE", "DELETE")
BUMP = "UPDATE platform_revision SET revision = revision + 1 WHERE id = 1"
POSTGRESQL_FUNCTION = f"""
    CREATE FUNCTION platform_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {BUMP};
        RETURN NULL;
    END $$
"""


def upgrade() -> None:
    op.create_table(
        "platform_revision",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_revision")),
    )
    op.execute("INSERT INTO platform_revision (id, revision) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for table in WATCHED_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_revision AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION platform_revision_bump()"
            )
        return
    for table in WATCHED_TABLES:
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_revision_{event.lower()} AFTER {event} ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_revision ON {table}")
        op.execute("DROP FUNCTION IF EXISTS platform_revision_bump()")
    else:
        for table in WATCHED_TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_revision_{event.lower()}")
    op.drop_table("platform_revision")
