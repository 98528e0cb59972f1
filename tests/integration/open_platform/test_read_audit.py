"""The read audit leaves the request path but loses nothing: what a process spooled and did not
commit (it was killed) is inserted by the next one, once; a database that fails for a while gets
every record when it comes back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from backbone.bootstrap import Container
from backbone.kit.db import Database
from backbone.open_platform.audit.repository import DataRead, insert_reads, reads_of_member
from backbone.open_platform.audit.service import SEGMENT_PREFIX, ReadAudit, encode

MEMBER = 424242


def reads(container: Container, count: int) -> list[DataRead]:
    now = container.clock.now()
    return [
        DataRead(
            id=container.ids.next(),
            at=now + timedelta(milliseconds=index),
            app_id=1,
            member_id=MEMBER,
            virtual_account_id=10 + index,
            fintech_consent_id=20,
            platform_consent_id=30,
            resource="balance",
            request_id=f"request-{index}",
        )
        for index in range(count)
    ]


def audited(container: Container) -> list[DataRead]:
    with container.database.reading() as session:
        return sorted(reads_of_member(session, MEMBER, 100), key=lambda read: read.id)


def test_reads_a_killed_process_spooled_are_inserted_once_by_the_next(
    container: Container, tmp_path: Path
) -> None:
    spool = tmp_path / "spool-under-test"
    spool.mkdir()
    written = reads(container, 3)
    # The killed process had committed the first read but not yet emptied its spool.
    with container.database.transaction() as session:
        insert_reads(session, written[:1])
    (spool / f"{SEGMENT_PREFIX}999-000000001.jsonl").write_bytes(b"".join(encode(read) for read in written))

    audit = ReadAudit(database=container.database, spool_directory=spool)
    assert audit.recover() == 2

    assert audited(container) == written
    assert list(spool.iterdir()) == []
    assert audit.recover() == 0


class FlakyDatabase:
    """The real database, whose transactions fail the first `failures` times (an outage)."""

    def __init__(self, database: Database, failures: int) -> None:
        self._database = database
        self.failures = failures

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("the database is down")
        with self._database.transaction() as session:
            yield session


def test_records_wait_out_a_database_outage_and_then_all_arrive(container: Container, tmp_path: Path) -> None:
    flaky = FlakyDatabase(container.database, failures=3)
    audit = ReadAudit(database=flaky, spool_directory=tmp_path / "spool-under-test")  # type: ignore[arg-type]
    written = reads(container, 5)

    audit.record(written[:2])  # returns at once: the data may leave while the database is down
    audit.record(written[2:])
    assert any((tmp_path / "spool-under-test").iterdir())  # spooled meanwhile
    audit.flush(timeout_s=20)

    assert flaky.failures == 0
    assert audited(container) == written
    audit.close()
    assert list((tmp_path / "spool-under-test").iterdir()) == []  # nothing left to recover
