"""The audit of every read of an investor's data, written with group commit.

A read is recorded before its data leaves: the request hands its records to one writer thread and
waits until the transaction holding them has committed. Concurrent requests share one commit (and
one fsync), so auditing every read costs one write per batch, not one per request, and no answered
read is ever missing from the trail. If the write fails, the request fails (500), and no data leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

from backbone.kit.db import Database
from backbone.kit.logs import get_logger
from backbone.open_platform.audit import repository
from backbone.open_platform.audit.repository import DataRead

log = get_logger("backbone.open_platform.audit")
READS_PER_COMMIT_MAX = 2_000
AUDIT_WAIT_S_MAX = 30


class ReadAudit:
    def __init__(self, *, database: Database) -> None:
        self._database = database
        self._condition = threading.Condition()
        self._pending: list[tuple[Sequence[DataRead], Future[None]]] = []
        self._thread: threading.Thread | None = None
        self._stopping = False

    def record(self, reads: Sequence[DataRead]) -> None:
        """Returns once the reads are committed; raises if they could not be."""
        if not reads:
            return
        done: Future[None] = Future()
        with self._condition:
            self._ensure_writer()
            self._pending.append((reads, done))
            self._condition.notify()
        done.result(timeout=AUDIT_WAIT_S_MAX)

    def _ensure_writer(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="platform-read-audit", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if not self._pending and self._stopping:
                    return
                batch: list[tuple[Sequence[DataRead], Future[None]]] = []
                count = 0
                while self._pending and count < READS_PER_COMMIT_MAX:
                    item = self._pending.pop(0)
                    batch.append(item)
                    count += len(item[0])
            try:
                with self._database.transaction() as session:
                    repository.insert_reads(session, [read for reads, _ in batch for read in reads])
            except Exception as error:  # every waiting request learns of it; the writer goes on
                log.error("platform.read_audit_failed", reads=count, exc_info=error)
                for _, done in batch:
                    done.set_exception(error)
                continue
            for _, done in batch:
                done.set_result(None)

    def close(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=AUDIT_WAIT_S_MAX)
