"""Which journal the brokerage books from: checked at every start, before anything is booked.

The database records the identity of the venue's journal (`brokerage_venue_cursor`) the first time
trading opens on it; at each later start, trading opens only on that journal, and only if the
journal reaches what the database has booked. Otherwise it refuses, naming the directory:

    database names another identity                 JournalMismatch (another installation's)
    database names none, has booked nothing,
      the journal already holds commands            JournalMismatch (booked elsewhere, or never)
    database has booked past the journal's end      JournalBehindBooks (an older copy, a cut tail)
    database names none (new, or from before identities): the journal's identity is recorded
"""

from __future__ import annotations

from backbone.brokerage.trading import repository
from backbone.brokerage.trading.errors import JournalBehindBooks, JournalMismatch, JournalRefused
from backbone.brokerage.trading.venue import VENUE_NAME, Venue
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.kit.logs import get_logger

log = get_logger("backbone.orders")


def bind_journal(database: Database, venue: Venue, *, clock: Clock) -> None:
    """Refuse to book from a journal these books were not booked from, or one that ends before
    them; record the journal's identity when the database has none yet. On a refusal the venue is
    closed: nothing may append to a journal the books refuse."""
    try:
        with database.transaction() as session:
            booked_identity = repository.booked_journal_identity(session, VENUE_NAME)
            booked = repository.booked_sequence(session, VENUE_NAME)
            check_journal(venue, booked_identity=booked_identity, booked_sequence=booked)
            if booked_identity is None:
                repository.save_booked_journal_identity(
                    session, VENUE_NAME, venue.journal_identity, clock.now()
                )
                log.info(
                    "journal.identity_recorded",
                    directory=str(venue.journal_directory),
                    journal_identity=venue.journal_identity,
                    booked_sequence=booked,
                )
    except JournalRefused:
        venue.close()
        raise


def check_journal(venue: Venue, *, booked_identity: str | None, booked_sequence: int) -> None:
    unbooked_journal = booked_identity is None and booked_sequence == 0 and venue.last_sequence > 0
    if unbooked_journal or booked_identity not in (None, venue.journal_identity):
        raise JournalMismatch(
            venue.journal_directory,
            journal_identity=venue.journal_identity,
            booked_identity=booked_identity,
            journal_sequence=venue.last_sequence,
        )
    if booked_sequence > venue.last_sequence:
        raise JournalBehindBooks(
            venue.journal_directory,
            last_segment=venue.last_segment,
            journal_sequence=venue.last_sequence,
            booked_sequence=booked_sequence,
        )
