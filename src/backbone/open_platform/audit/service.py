"""The audit of every read of an investor's data: off the request path, and never lost.

A request appends its records to a spool file (one `write` to an append-only file: a few
microseconds, no fsync, no database) and returns; one writer thread inserts what was spooled into
`platform_data_reads` in batches, one transaction per batch. What keeps every record:

- The spool is written before the data leaves. A record in the kernel's page cache survives the
  process dying at any point (a crash, `kill -9`); the next start inserts every record still
  spooled (`ReadAudit.recover`, run by the writer thread before its first batch), skipping those
  already committed, so a crash between commit and the spool's emptying records nothing twice. The
  writer empties the spool (truncates it) whenever it has committed everything spooled so far, and
  under sustained load starts a new segment once one passes `SEGMENT_BYTES_MAX`, deleting the old
  one after its last batch commits (creating a file per batch would cost more than the write it
  saves). A crash of the whole machine can lose what the page cache had not yet written: the spool
  is not fsynced per request, the price of taking the audit off the request path.
- A failed insert (the database down) is retried with a growing pause, the records kept in memory
  and in their segment; nothing is dropped.
- Shutdown (`close`) drains the queue before it returns; `flush` waits for everything recorded so
  far (tests, and anything that must read the trail at once).
- Past `PENDING_READS_MAX` records waiting, `record` waits for the writer: the memory is bounded
  and the trail never falls arbitrarily behind.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path

import orjson

from backbone.kit.db import Database
from backbone.kit.logs import get_logger
from backbone.open_platform.audit import repository
from backbone.open_platform.audit.repository import DataRead

log = get_logger("backbone.open_platform.audit")
PENDING_READS_MAX = 20_000
BATCH_WINDOW_S = 0.05
AUDIT_WAIT_S_MAX = 30
RETRY_PAUSE_S_MIN = 0.05
RETRY_PAUSE_S_MAX = 5.0
SEGMENT_PREFIX = "reads-"
SEGMENT_BYTES_MAX = 8 * 1024 * 1024
SPOOL_DIRECTORY = "read-audit"


def spool_directory(var_directory: Path, node: int) -> Path:
    """Each process that records reads spools apart (two truncating each other's segments would
    lose records), keyed by its node id rather than its pid so that a restart on the same node
    recovers what its predecessor spooled. Node 0 (`backbone serve`) keeps the top directory;
    `recover` reads only its own directory's segments, never a subdirectory's."""
    top = var_directory / SPOOL_DIRECTORY
    return top if node == 0 else top / f"node-{node}"


def encode(read: DataRead) -> bytes:
    # orjson writes the dataclass's fields in order, `at` in ISO 8601 (what `decode` parses); on
    # the open API's busiest call the standard library's encoder cost five times more.
    return orjson.dumps(read, option=orjson.OPT_APPEND_NEWLINE)


def decode(line: bytes) -> DataRead:
    fields = orjson.loads(line)
    fields["at"] = datetime.fromisoformat(fields["at"])
    return DataRead(**fields)


class ReadAudit:
    def __init__(self, *, database: Database, spool_directory: Path) -> None:
        self._database = database
        self._directory = spool_directory
        self._directory.mkdir(parents=True, exist_ok=True)
        # One lock, two conditions: requests wake only the writer (and only when it sleeps); the
        # writer wakes whoever waits for progress (flush, or a record() waiting for room).
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._writer_waiting = False
        self._pending: list[DataRead] = []
        self._numbers = itertools.count(1)
        self._segment: Path | None = None
        self._descriptor: int | None = None
        self._segment_bytes = 0
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._recovered = False

    def record(self, reads: Sequence[DataRead]) -> None:
        """Spools the reads (durable against a crash of this process) and returns; the writer
        thread commits them to the database shortly after."""
        if not reads:
            return
        data = b"".join(encode(read) for read in reads)
        with self._lock:
            self._ensure_writer()
            while len(self._pending) >= PENDING_READS_MAX and not self._stopping:
                self._progress.wait(timeout=AUDIT_WAIT_S_MAX)
            os.write(self._open_segment(), data)
            self._segment_bytes += len(data)
            self._pending.extend(reads)
            if self._writer_waiting:
                self._work.notify()

    def flush(self, timeout_s: float = AUDIT_WAIT_S_MAX) -> None:
        """Returns once every read recorded before the call is committed."""
        with self._lock:
            if not self._progress.wait_for(
                lambda: not self._pending and not self._in_flight, timeout=timeout_s
            ):
                raise TimeoutError("the read audit did not catch up")

    def recover(self) -> int:
        """Inserts the reads a previous process spooled but did not commit; their count."""
        recovered = 0
        for segment in sorted(self._directory.glob(f"{SEGMENT_PREFIX}*.jsonl")):
            if segment == self._segment:
                continue
            reads = [decode(line) for line in segment.read_bytes().splitlines() if line.strip()]
            with self._database.transaction() as session:
                known = repository.read_ids_present(session, [read.id for read in reads])
                repository.insert_reads(session, [read for read in reads if read.id not in known])
            recovered += len(reads) - len(known)
            segment.unlink()
        if recovered:
            log.warning("platform.read_audit_recovered", reads=recovered)
        return recovered

    def _open_segment(self) -> int:
        if self._descriptor is None:
            # Unique within the directory: a process id and a counter, so two processes sharing a
            # var directory never append to the same segment.
            self._segment = self._directory / f"{SEGMENT_PREFIX}{os.getpid()}-{next(self._numbers):09d}.jsonl"
            self._descriptor = os.open(self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._segment_bytes = 0
        return self._descriptor

    def _ensure_writer(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="platform-read-audit", daemon=True)
            self._thread.start()

    def _take(self) -> tuple[list[DataRead], Path | None] | None:
        """The next batch, and the segment to delete once it commits (None while the request
        path still appends to it)."""
        with self._lock:
            while not self._pending and not self._stopping:
                self._writer_waiting = True
                self._work.wait()
                self._writer_waiting = False
            if not self._pending:
                return None
        if not self._stopping:
            # Gather a batch: requests wake the writer only while it sleeps, so this window
            # bounds the wake-ups (each costs the waking request a thread switch) and the commits
            # (each makes every reader's page cache start over). 50 ms cost 6% less CPU per open
            # API call than 10 ms; the reads are spooled meanwhile, so none waits on it.
            time.sleep(BATCH_WINDOW_S)
        with self._lock:
            batch, self._pending = self._pending, []
            self._in_flight = len(batch)
            finished = None
            if self._segment_bytes >= SEGMENT_BYTES_MAX and self._descriptor is not None:
                finished = self._segment
                os.close(self._descriptor)
                self._segment = self._descriptor = None
            self._progress.notify_all()  # a record() waiting for room may go on
        return batch, finished

    def _run(self) -> None:
        if not self._recovered:
            self._recovered = True
            self._commit_with_retries(self.recover)
        while (taken := self._take()) is not None:
            batch, finished = taken
            self._commit_with_retries(partial(self._insert, batch))
            if finished is not None:
                finished.unlink(missing_ok=True)
            with self._lock:
                self._in_flight = 0
                if not self._pending and self._descriptor is not None:
                    os.ftruncate(self._descriptor, 0)  # all spooled reads are committed
                    self._segment_bytes = 0
                self._progress.notify_all()

    def _insert(self, batch: list[DataRead]) -> int:
        with self._database.transaction() as session:
            repository.insert_reads(session, batch)
        return len(batch)

    def _commit_with_retries(self, work: Callable[[], object]) -> None:
        pause = RETRY_PAUSE_S_MIN
        while True:
            try:
                work()
            except Exception as error:  # the records stay spooled and queued; try again
                log.error("platform.read_audit_failed", exc_info=error)
                time.sleep(pause)
                pause = min(pause * 2, RETRY_PAUSE_S_MAX)
                continue
            return

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            self._work.notify_all()
            self._progress.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=AUDIT_WAIT_S_MAX)
        with self._lock:
            if not self._pending and not self._in_flight and self._descriptor is not None:
                os.close(self._descriptor)  # everything is committed: the spool is empty
                if self._segment is not None:
                    self._segment.unlink(missing_ok=True)
                self._segment = self._descriptor = None
