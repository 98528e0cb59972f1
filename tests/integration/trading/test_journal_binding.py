"""Trading opens only on the journal the database books from, and only if that journal reaches what
the database has booked: another installation's journal or an older copy is refused, on both
databases, and a database from before journal identities adopts its journal's."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from backbone import bootstrap
from backbone.bootstrap import Container
from backbone.brokerage.domain import Account
from backbone.brokerage.models import VenueCursorRow
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.errors import JournalBehindBooks, JournalMismatch
from backbone.brokerage.trading.venue import VENUE_NAME
from backbone.exchange.journal import IDENTITY_FILE, journal_identity, list_segments
from backbone.exchange.orders import Side
from backbone.kit.clock import SimulatedClock
from tests import builders
from tests.conftest import TEMPLATE_DATABASE, settings_for
from tests.postgresql import Cluster
from tests.trading import limit, open_market, placed, trading


@pytest.fixture
def other_installation(
    container: Container, clock: SimulatedClock, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Container]:
    """A second installation on the same kind of database: its own database, its own var/."""
    var_directory = tmp_path / "other"
    var_directory.mkdir()
    if container.database.engine.dialect.name == "sqlite":
        path = var_directory / "backbone.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        built = bootstrap.build(settings_for(f"sqlite:///{path}", var_directory), clock=clock)
        yield built
        built.close()
        return
    cluster: Cluster = request.getfixturevalue("postgresql_cluster")
    name = f"test_{uuid.uuid4().hex[:16]}"
    built = bootstrap.build(
        settings_for(cluster.create_database(name, template=TEMPLATE_DATABASE), var_directory), clock=clock
    )
    yield built
    built.close()
    cluster.drop_database(name)


def booked(container: Container) -> tuple[int, str | None]:
    with container.database.reading() as session:
        return (
            repository.booked_sequence(session, VENUE_NAME),
            repository.booked_journal_identity(session, VENUE_NAME),
        )


def funded_buyer(container: Container) -> Account:
    with container.database.transaction() as session:
        builders.firm(container, session)
        return builders.account(container, session, cash=1_000_000)


def trade_a_little(container: Container, clock: SimulatedClock, directory: Path) -> int:
    """Open the market and place one order on the journal under `directory`; the last sequence."""
    buyer = funded_buyer(container)
    with trading(container, directory) as opened:
        open_market(clock, opened)
        placed(opened, buyer.id, limit(Side.BUY, 1, 70_000))
        return opened.venue.last_sequence


def test_the_first_opening_records_the_journal_s_identity_and_the_next_one_accepts_it(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    last = trade_a_little(container, clock, tmp_path)
    assert booked(container) == (last, journal_identity(tmp_path / "exchange"))
    with trading(container, tmp_path) as reopened:
        assert reopened.venue.last_sequence == last


def test_another_installation_s_journal_is_refused_naming_the_directory_and_both_identities(
    container: Container, other_installation: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    trade_a_little(container, clock, tmp_path)
    other_directory = tmp_path / "other"
    trade_a_little(other_installation, clock, other_directory)
    ours, theirs = journal_identity(tmp_path / "exchange"), journal_identity(other_directory / "exchange")
    before = booked(container)
    with pytest.raises(JournalMismatch) as raised:
        bootstrap.open_trading(container, journal_directory=other_directory / "exchange")
    error = raised.value
    assert (error.journal_identity, error.booked_identity) == (theirs, ours)
    assert str(other_directory / "exchange") in str(error)
    assert "belongs to another installation" in str(error)
    assert ours in str(error)
    assert theirs in str(error)
    assert booked(container) == before  # nothing booked from it, nothing recorded


def test_a_database_that_booked_nothing_refuses_a_journal_that_already_holds_commands(
    container: Container, other_installation: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    other_directory = tmp_path / "other"
    last = trade_a_little(other_installation, clock, other_directory)
    with pytest.raises(JournalMismatch) as raised:
        bootstrap.open_trading(container, journal_directory=other_directory / "exchange")
    assert raised.value.booked_identity is None
    assert f"holds sequences up to {last}" in str(raised.value)
    assert booked(container) == (0, None)


def test_a_new_empty_journal_in_place_of_this_installation_s_is_refused(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    trade_a_little(container, clock, tmp_path)
    shutil.rmtree(tmp_path / "exchange")
    with pytest.raises(JournalMismatch):
        bootstrap.open_trading(container, journal_directory=tmp_path / "exchange")


def test_an_older_copy_of_the_journal_is_refused_with_both_sequences(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    buyer = funded_buyer(container)
    journal = tmp_path / "exchange"
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        shutil.copytree(journal, tmp_path / "older")
        older_sequence = opened.venue.last_sequence
        placed(opened, buyer.id, limit(Side.BUY, 1, 70_000))
        placed(opened, buyer.id, limit(Side.BUY, 1, 69_900))
        booked_sequence = opened.venue.last_sequence
    journal.rename(tmp_path / "newer")
    (tmp_path / "older").rename(journal)
    with pytest.raises(JournalBehindBooks) as raised:
        bootstrap.open_trading(container, journal_directory=journal)
    error = raised.value
    assert (error.journal_sequence, error.booked_sequence) == (older_sequence, booked_sequence)
    assert error.last_segment == list_segments(journal)[-1].path
    assert f"{journal}: the journal ends at sequence {older_sequence}" in str(error)
    assert error.last_segment.name in str(error)
    assert f"booked up to sequence {booked_sequence}" in str(error)
    # The refusal changed nothing: with the right journal back, trading opens where it stood.
    shutil.rmtree(journal)
    (tmp_path / "newer").rename(journal)
    with trading(container, tmp_path) as reopened:
        assert reopened.venue.last_sequence == booked_sequence


def test_a_journal_whose_last_frame_was_cut_after_booking_is_refused(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    last = trade_a_little(container, clock, tmp_path)
    segment = list_segments(tmp_path / "exchange")[-1].path
    segment.write_bytes(segment.read_bytes()[:-3])  # the last order's frame, torn after it was booked
    with pytest.raises(JournalBehindBooks) as raised:
        bootstrap.open_trading(container, journal_directory=tmp_path / "exchange")
    assert (raised.value.journal_sequence, raised.value.booked_sequence) == (last - 1, last)


def test_a_database_from_before_journal_identities_adopts_its_journal_s_and_trades_on(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    last = trade_a_little(container, clock, tmp_path)
    # As an installation from before identities left it: no identity in the database or beside the journal.
    with container.database.transaction() as session:
        session.execute(update(VenueCursorRow).values(journal_identity=None))
    (tmp_path / "exchange" / IDENTITY_FILE).unlink()
    with trading(container, tmp_path) as reopened:
        assert reopened.venue.last_sequence == last
        adopted = reopened.venue.journal_identity
    assert booked(container) == (last, adopted)
    assert journal_identity(tmp_path / "exchange") == adopted
