"""An exclusive lock on a file for as long as this process holds it: a `flock`, which the kernel
drops when the process ends however it ends, so a crashed process never leaves it taken. The
holder writes its process id into the file, for an operator asking who holds it.

A `flock` belongs to an open file, not to a process: a second `try_lock` of the same path from
this very process is refused too, as another process's would be.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

HOLDER_BYTES_MAX = 32  # a process id and a newline, generously


class FileLock:
    """The lock on `path`, held until `release` (or the process's end)."""

    def __init__(self, descriptor: int, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing drops the flock
            self._descriptor = None


def try_lock(path: Path) -> FileLock | None:
    """The lock on `path` (created if need be), or None while someone else holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    return FileLock(descriptor, path)


def holder_of(path: Path) -> str:
    """The process id the holder wrote, or "" when it cannot be read."""
    try:
        with path.open("rb") as file:
            return file.read(HOLDER_BYTES_MAX).decode(errors="replace").strip()
    except OSError:
        return ""
