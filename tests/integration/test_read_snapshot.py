"""A read session's driver reads (`DriverStatement`) run in a snapshot of their own until the
session begins its transaction, then in that transaction; a call never holds two connections,
and nothing stays checked out after the session ends."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, select, text, update

from backbone.bootstrap import Container
from backbone.kit.db import DriverStatement, begin_reading
from backbone.ledger.models import AssetRow
from backbone.open_platform.models import RevisionRow

REVISIONS: Table = RevisionRow.__table__  # type: ignore[assignment]
REVISION = DriverStatement(select(REVISIONS.c.revision).where(REVISIONS.c.id == 1))


def checked_out(container: Container) -> int:
    return int(container.database.engine.pool.checkedout())  # type: ignore[attr-defined]


def test_driver_reads_before_any_orm_read_use_one_connection_and_no_orm_transaction(
    container: Container,
) -> None:
    before = checked_out(container)
    with container.database.reading() as session:
        first = REVISION.rows(session)
        again = REVISION.rows(session)
        assert not session.in_transaction()
        assert checked_out(container) == before + 1
    assert first == again
    assert len(first) == 1
    assert checked_out(container) == before


def test_the_first_orm_read_ends_the_snapshot_and_later_driver_reads_see_its_transaction(
    container: Container,
) -> None:
    before = checked_out(container)
    with container.database.reading() as session:
        (revision,) = REVISION.rows(session)[0]
        assert session.execute(select(AssetRow.code).limit(1)).scalar_one()
        assert session.in_transaction()
        assert checked_out(container) == before + 1  # the session's, the snapshot's returned
        # a change only this session's transaction holds (rolled back at the end)
        session.execute(update(REVISIONS).values(revision=REVISIONS.c.revision + 1000))
        assert REVISION.rows(session) == [(revision + 1000,)]
    with container.database.reading() as session:
        assert REVISION.rows(session) == [(revision,)]
    assert checked_out(container) == before


def test_begin_reading_moves_driver_reads_into_the_session_transaction(container: Container) -> None:
    with container.database.reading() as session:
        REVISION.rows(session)
        begin_reading(session)
        assert session.in_transaction()
        session.execute(update(REVISIONS).values(revision=-1))
        assert REVISION.rows(session) == [(-1,)]


def test_a_failed_driver_read_leaves_nothing_checked_out(container: Container) -> None:
    before = checked_out(container)
    broken = DriverStatement(select(text("no_such_column")).select_from(REVISIONS))
    driver_error = container.database.engine.dialect.loaded_dbapi.Error
    with pytest.raises(driver_error), container.database.reading() as session:
        broken.rows(session)
    assert checked_out(container) == before
