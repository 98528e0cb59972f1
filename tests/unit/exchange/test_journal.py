"""The journal: records that prove themselves complete, torn tails discarded, damage refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbone.exchange.codec import decode_command, encode_command
from backbone.exchange.journal import (
    MAGIC,
    FsyncPolicy,
    JournalCorrupted,
    JournalWriter,
    discard_torn_tail,
    encode_frame,
    list_segments,
    read_journal,
)
from backbone.exchange.messages import Command
from backbone.exchange.orders import Side, TimeInForce
from backbone.exchange.phases import SessionPhase
from tests.unit.exchange.builders import buy, cancel, market, modify, phase


def write(directory: Path, count: int, *, first: int = 1) -> list[bytes]:
    """`count` records, each committed as its own frame (as under the `always` policy)."""
    payloads = [f"command {sequence}".encode() for sequence in range(first, first + count)]
    writer = JournalWriter(directory, next_sequence=first, policy=FsyncPolicy.ALWAYS)
    for offset, payload in enumerate(payloads):
        writer.append(first + offset, payload)
        writer.commit()
    writer.close()
    return payloads


def last_segment(directory: Path) -> Path:
    return list_segments(directory)[-1].path


@pytest.mark.parametrize(
    "command",
    [
        buy(7, 71_000, 3, time_in_force=TimeInForce.FOK),
        market(8, Side.SELL, 5),
        modify(7, 71_100, 2),
        cancel(7),
        phase(SessionPhase.CLOSING_AUCTION),
        buy(2**63 - 1, 1, -1, instrument="0009K0"),
    ],
)
def test_every_command_survives_encoding_unchanged(command: Command) -> None:
    assert decode_command(encode_command(command)) == command


def test_records_read_back_in_sequence(tmp_path: Path) -> None:
    payloads = write(tmp_path, 5)
    assert list(read_journal(tmp_path)) == list(enumerate(payloads, start=1))


def test_reading_after_a_sequence_skips_what_came_before(tmp_path: Path) -> None:
    payloads = write(tmp_path, 5)
    assert [sequence for sequence, _ in read_journal(tmp_path, after_sequence=3)] == [4, 5]
    assert next(iter(read_journal(tmp_path, after_sequence=3)))[1] == payloads[3]


def test_torn_last_record_is_discarded_and_appending_continues_after_the_last_good_one(
    tmp_path: Path,
) -> None:
    write(tmp_path, 3)
    segment = last_segment(tmp_path)
    segment.write_bytes(segment.read_bytes() + encode_frame(4, [b"command 4"])[:-3])  # crash mid-write
    assert [sequence for sequence, _ in read_journal(tmp_path)] == [1, 2, 3]
    assert discard_torn_tail(tmp_path) == len(encode_frame(4, [b"command 4"])) - 3
    write(tmp_path, 1, first=4)
    assert [sequence for sequence, _ in read_journal(tmp_path)] == [1, 2, 3, 4]


def test_torn_group_frame_is_discarded_whole(tmp_path: Path) -> None:
    write(tmp_path, 2)
    segment = last_segment(tmp_path)
    group = encode_frame(3, [b"command 3", b"command 4", b"command 5"])
    segment.write_bytes(segment.read_bytes() + group[: len(group) // 2])
    assert [sequence for sequence, _ in read_journal(tmp_path)] == [1, 2]


def test_group_frame_holds_its_records_in_sequence(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, next_sequence=1, policy=FsyncPolicy.GROUP)
    for sequence in (1, 2, 3):
        writer.append(sequence, f"command {sequence}".encode())
    writer.close()
    assert list(read_journal(tmp_path)) == [(1, b"command 1"), (2, b"command 2"), (3, b"command 3")]


def test_last_record_with_a_bad_checksum_is_treated_as_torn(tmp_path: Path) -> None:
    write(tmp_path, 2)
    segment = last_segment(tmp_path)
    data = bytearray(segment.read_bytes())
    data[-6] ^= 0xFF  # a byte of the last payload
    segment.write_bytes(bytes(data))
    assert [sequence for sequence, _ in read_journal(tmp_path)] == [1]


def test_zero_filled_tail_after_a_machine_crash_is_treated_as_torn(tmp_path: Path) -> None:
    write(tmp_path, 2)
    segment = last_segment(tmp_path)
    segment.write_bytes(segment.read_bytes() + b"\0" * 4096)
    assert [sequence for sequence, _ in read_journal(tmp_path)] == [1, 2]
    discard_torn_tail(tmp_path)
    assert segment.stat().st_size == len(MAGIC) + 2 * len(encode_frame(1, [b"command 1"]))


def test_damaged_record_followed_by_good_ones_is_corruption_not_a_torn_tail(tmp_path: Path) -> None:
    write(tmp_path, 3)
    segment = last_segment(tmp_path)
    data = bytearray(segment.read_bytes())
    data[len(MAGIC) + 20] ^= 0xFF  # inside the first frame's record
    segment.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupted):
        list(read_journal(tmp_path))


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    write(tmp_path, 1)
    last_segment(tmp_path).write_bytes(b"NOTAJRNL" + b"x" * 40)
    with pytest.raises(JournalCorrupted):
        list(read_journal(tmp_path))


def test_sequence_gap_is_corruption(tmp_path: Path) -> None:
    write(tmp_path, 2)
    segment = last_segment(tmp_path)
    segment.write_bytes(segment.read_bytes() + encode_frame(5, [b"command 5"]))
    with pytest.raises(JournalCorrupted):
        list(read_journal(tmp_path))


def test_rotation_starts_a_segment_and_reading_after_a_snapshot_skips_old_segments(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, next_sequence=1, policy=FsyncPolicy.GROUP)
    for sequence in (1, 2, 3):
        writer.append(sequence, b"old")
    writer.rotate()
    for sequence in (4, 5):
        writer.append(sequence, b"new")
    writer.close()
    assert [segment.first_sequence for segment in list_segments(tmp_path)] == [1, 4]
    # Damage the old segment: a reader starting after the snapshot at 3 never opens it.
    list_segments(tmp_path)[0].path.write_bytes(b"garbage")
    assert list(read_journal(tmp_path, after_sequence=3)) == [(4, b"new"), (5, b"new")]


def test_buffered_records_reach_the_file_only_on_commit(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, next_sequence=1, policy=FsyncPolicy.NONE)
    writer.append(1, b"one")
    assert list(read_journal(tmp_path)) == []
    writer.commit()
    assert list(read_journal(tmp_path)) == [(1, b"one")]
    writer.close()
