"""Each process spools its read audit under its own node: node 0's recovery leaves the spool of a
live worker on another node alone, and a worker restarted on that node recovers it."""

from __future__ import annotations

from pathlib import Path

from backbone.bootstrap import Container
from backbone.open_platform.audit.service import SEGMENT_PREFIX, ReadAudit, encode, spool_directory
from tests.integration.open_platform.test_read_audit import audited, reads


def test_recovery_reads_only_its_own_nodes_spool(container: Container, tmp_path: Path) -> None:
    assert spool_directory(tmp_path, 0) == tmp_path / "read-audit"
    worker = spool_directory(tmp_path, 3)
    assert worker == tmp_path / "read-audit" / "node-3"
    worker.mkdir(parents=True)
    written = reads(container, 2)
    segment = worker / f"{SEGMENT_PREFIX}4242-000000001.jsonl"
    segment.write_bytes(b"".join(encode(read) for read in written))

    assert ReadAudit(database=container.database, spool_directory=spool_directory(tmp_path, 0)).recover() == 0
    assert segment.exists()  # another node's: perhaps a live worker still appending to it
    assert audited(container) == []

    restarted = ReadAudit(database=container.database, spool_directory=spool_directory(tmp_path, 3))
    assert restarted.recover() == 2
    assert audited(container) == written
    assert not segment.exists()
