"""The venue cursor names its journal: `journal_identity`, the random identity of the journal the
brokerage books from, so that trading refuses to start on another installation's journal. Null in
rows from before it; the next start adopts the journal's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite has had ADD and DROP COLUMN since 3.35).
    op.add_column(
        "brokerage_venue_cursor", sa.Column("journal_identity", sa.String(length=32), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("brokerage_venue_cursor", "journal_identity")
