"""Node ids for processes that write: each holds an exclusive lock on `var/nodes/<node>.lock` for
its whole life, so no two live processes of an installation generate ids (kit/ids.py) on the same
node. The kernel drops the lock when the process ends however it ends, so a crashed process never
leaves its node claimed.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from backbone.kit.ids import NODE_MAX

NODES_DIRECTORY = "nodes"


class NoFreeNode(RuntimeError):
    """Every node id the process may take is held by a live process of the installation."""


class NodeClaim:
    """A node id held by this process until `release` (or the process's end)."""

    def __init__(self, node: int, descriptor: int, path: Path) -> None:
        self.node = node
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing drops the flock
            self._descriptor = None


def claim(var_directory: Path, node: int) -> NodeClaim | None:
    """This node id, or None while another live process holds it."""
    directory = var_directory / NODES_DIRECTORY
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{node}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())  # for an operator asking who holds it
    return NodeClaim(node, descriptor, path)


def claim_first_free(var_directory: Path, *, first: int = 1) -> NodeClaim:
    """The lowest node id from `first` that no live process holds."""
    for node in range(first, NODE_MAX + 1):
        claimed = claim(var_directory, node)
        if claimed is not None:
            return claimed
    raise NoFreeNode(
        f"node ids {first}-{NODE_MAX} are all held by live processes of this installation "
        f"(see {var_directory / NODES_DIRECTORY}): stop one, or run fewer workers"
    )


def free_nodes(var_directory: Path, *, first: int = 1) -> list[int]:
    """The node ids from `first` no live process holds now (each tried and let go at once)."""
    free = []
    for node in range(first, NODE_MAX + 1):
        claimed = claim(var_directory, node)
        if claimed is not None:
            claimed.release()
            free.append(node)
    return free
