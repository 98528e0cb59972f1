"""One process at a time writes a venue's journal: it holds an exclusive `flock` on
`<journal directory>/journal.lock` from opening the venue until closing it. The kernel drops the
lock when the process ends however it ends, so a crashed server never leaves its journal claimed.

Appends from two processes would interleave frames with clashing sequence numbers, and a repair
(`backbone orders reconcile`) beside a running server would book results the server books too;
the lock turns both into a refusal that names the process holding it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Final

from backbone.exchange.errors import JournalInUse

LOCK_FILE: Final = "journal.lock"  # not a segment: segments are journal-<sequence>.log


class JournalLock:
    """The journal held by this process until `release` (or the process's end)."""

    def __init__(self, descriptor: int, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing drops the flock
            self._descriptor = None


def lock_journal(directory: Path) -> JournalLock:
    """Hold the journal in `directory`, or refuse with `JournalInUse` while another process does."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 32).decode(errors="replace").strip() or "another process"
        os.close(descriptor)
        raise JournalInUse(
            f"process {holder} holds the venue's journal {directory} (is `backbone serve` running?); "
            "stop it first",
            holder=holder,
        ) from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())  # for an operator asking who holds it
    return JournalLock(descriptor, path)
