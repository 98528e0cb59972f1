"""One process at a time writes a venue's journal: it holds an exclusive lock on
`<journal directory>/journal.lock` (`kit.file_lock`) from opening the venue until closing it.

Appends from two processes would interleave frames with clashing sequence numbers, and a repair
(`backbone orders reconcile`) beside a running server would book results the server books too;
the lock turns both into a refusal that names the process holding it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from backbone.exchange.errors import JournalInUse
from backbone.kit.file_lock import FileLock, holder_of, try_lock

LOCK_FILE: Final = "journal.lock"  # not a segment: segments are journal-<sequence>.log


def lock_journal(directory: Path) -> FileLock:
    """Hold the journal in `directory`, or refuse with `JournalInUse` while another process does."""
    path = directory / LOCK_FILE
    lock = try_lock(path)
    if lock is None:
        holder = holder_of(path) or "another process"
        raise JournalInUse(
            f"process {holder} holds the venue's journal {directory} (is `backbone serve` running?); "
            "stop it first",
            holder=holder,
        )
    return lock
