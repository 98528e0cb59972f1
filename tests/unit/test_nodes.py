"""Node ids claimed by live processes: no two hold the same one, and a process that dies (even
killed) frees its node at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backbone.kit import nodes
from backbone.kit.ids import NODE_MAX


def test_each_claim_takes_the_lowest_free_node_and_a_release_frees_it(tmp_path: Path) -> None:
    first = nodes.claim_first_free(tmp_path)
    second = nodes.claim_first_free(tmp_path)
    assert (first.node, second.node) == (1, 2)
    assert nodes.claim(tmp_path, 1) is None  # held, even by this very process
    first.release()
    again = nodes.claim(tmp_path, 1)
    assert again is not None
    assert again.node == 1
    assert (tmp_path / "nodes" / "1.lock").exists()


def test_no_free_node_is_refused_clearly(tmp_path: Path) -> None:
    held = [nodes.claim_first_free(tmp_path) for _ in range(NODE_MAX)]
    assert [claim.node for claim in held] == list(range(1, NODE_MAX + 1))
    with pytest.raises(nodes.NoFreeNode, match="node ids 1-15 are all held"):
        nodes.claim_first_free(tmp_path)


def test_a_node_held_by_another_process_is_skipped_and_freed_when_that_process_is_killed(
    tmp_path: Path,
) -> None:
    script = (
        "import sys; from pathlib import Path; from backbone.kit import nodes; "
        f"claim = nodes.claim_first_free(Path({str(tmp_path)!r})); print(claim.node, flush=True); "
        "sys.stdin.read()"
    )
    with subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "1"
            mine = nodes.claim_first_free(tmp_path)
            assert mine.node == 2
        finally:
            holder.kill()
            holder.wait(timeout=10)
    freed = nodes.claim_first_free(tmp_path)
    assert freed.node == 1
