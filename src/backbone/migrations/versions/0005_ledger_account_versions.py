"""Ledger accounts count their legs: `version` goes up by one with every leg the balance trigger
adds, so a reader can tell whether anything of an owner moved since it last read (the open
platform's holdings cache compares one number per account instead of reading every balance).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGER = """
    CREATE TRIGGER ledger_legs_move_balance AFTER INSERT ON ledger_legs
    BEGIN
        UPDATE ledger_accounts SET balance = balance + NEW.amount{version} WHERE id = NEW.account_id;
    END
"""
POSTGRESQL_FUNCTION = """
    CREATE OR REPLACE FUNCTION ledger_leg_move_balance() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ledger_accounts SET balance = balance + NEW.amount{version} WHERE id = NEW.account_id;
        RETURN NULL;
    END $$
"""
VERSION_STEP = ", version = version + 1"


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite has had ADD and DROP COLUMN since 3.35): a batch copy of the table
    # would trip the ledger's other triggers, which name it.
    op.add_column(
        "ledger_accounts", sa.Column("version", sa.BigInteger(), server_default="0", nullable=False)
    )
    _balance_trigger(VERSION_STEP)


def downgrade() -> None:
    _balance_trigger("")
    op.drop_column("ledger_accounts", "version")


def _balance_trigger(version_step: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION.format(version=version_step))
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_legs_move_balance")
        op.execute(SQLITE_TRIGGER.format(version=version_step))
