"""Node ids for processes that write: each holds an exclusive lock on `var/nodes/<node>.lock` for
its whole life (`kit.file_lock`), so no two live processes of an installation generate ids
(kit/ids.py) on the same node. A crashed process never leaves its node claimed.
"""

from __future__ import annotations

from pathlib import Path

from backbone.kit.file_lock import FileLock, try_lock
from backbone.kit.ids import NODE_MAX

NODES_DIRECTORY = "nodes"


class NoFreeNode(RuntimeError):
    """Every node id the process may take is held by a live process of the installation."""


class NodeClaim:
    """A node id held by this process until `release` (or the process's end)."""

    def __init__(self, node: int, lock: FileLock) -> None:
        self.node = node
        self.path = lock.path
        self._lock = lock

    def release(self) -> None:
        self._lock.release()


def claim(var_directory: Path, node: int) -> NodeClaim | None:
    """This node id, or None while another live process holds it."""
    lock = try_lock(var_directory / NODES_DIRECTORY / f"{node}.lock")
    return None if lock is None else NodeClaim(node, lock)


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
