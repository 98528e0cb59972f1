"""The journal: records that prove themselves complete, torn tails discarded, damage refused."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
import structlog.testing

from backbone.exchange.codec import decode_command, encode_command
from backbone.exchange.errors import JournalCorrupted
from backbone.exchange.journal import (
    FRAME_CHECKSUM,
    FRAME_HEAD,
    IDENTITY_FILE,
    MAGIC,
    RECORD_LENGTH,
    FsyncPolicy,
    JournalWriter,
    discard_torn_tail,
    encode_frame,
    journal_identity,
    list_segments,
    read_journal,
    segment_path,
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


# --- what is refused, and how it is named ---------------------------------------------------------


def refusal(directory: Path, *, after_sequence: int = 0) -> JournalCorrupted:
    with pytest.raises(JournalCorrupted) as raised:
        list(read_journal(directory, after_sequence=after_sequence))
    return raised.value


def two_segments(directory: Path) -> list[Path]:
    """Sequences 1-3 in one segment, 4-5 in the next, one frame per record."""
    writer = JournalWriter(directory, next_sequence=1, policy=FsyncPolicy.ALWAYS)
    for sequence in range(1, 6):
        if sequence == 4:
            writer.rotate()
        writer.append(sequence, f"command {sequence}".encode())
        writer.commit()
    writer.close()
    return [segment.path for segment in list_segments(directory)]


FRAME_BYTES = len(encode_frame(1, [b"command 1"]))


def test_a_frame_cut_short_in_a_segment_that_is_not_the_last_is_corruption_naming_it(tmp_path: Path) -> None:
    first, second = two_segments(tmp_path)
    first.write_bytes(first.read_bytes()[:-5])  # sequence 3's frame loses its last bytes
    error = refusal(tmp_path)
    assert (error.path, error.sequence, error.offset) == (first, 3, len(MAGIC) + 2 * FRAME_BYTES)
    assert str(first) in str(error)
    assert "sequence 3" in str(error)
    assert second.name in str(error)


def test_a_flipped_byte_in_a_middle_frame_is_corruption_naming_the_file_byte_and_sequence(
    tmp_path: Path,
) -> None:
    write(tmp_path, 3)
    segment = last_segment(tmp_path)
    data = bytearray(segment.read_bytes())
    second_frame = len(MAGIC) + FRAME_BYTES
    data[second_frame + FRAME_HEAD.size + RECORD_LENGTH.size] ^= 0x01  # the first payload byte of record 2
    segment.write_bytes(bytes(data))
    error = refusal(tmp_path)
    assert (error.path, error.offset, error.sequence) == (segment, second_frame, 2)
    assert f"{segment}, byte {second_frame}, sequence 2" in str(error)
    with pytest.raises(JournalCorrupted):
        discard_torn_tail(tmp_path)  # recovery refuses too, before it cuts anything
    assert segment.read_bytes() == bytes(data)


def test_a_gap_in_sequences_inside_a_segment_names_the_file_and_both_sequences(tmp_path: Path) -> None:
    write(tmp_path, 2)
    segment = last_segment(tmp_path)
    segment.write_bytes(segment.read_bytes() + encode_frame(5, [b"command 5"]))
    error = refusal(tmp_path)
    assert (error.path, error.sequence, error.offset) == (segment, 5, len(MAGIC) + 2 * FRAME_BYTES)
    assert "a gap" in str(error)
    assert "where 3 was due" in str(error)


def test_a_gap_between_segments_is_corruption_naming_the_segment_that_ends_early(tmp_path: Path) -> None:
    write(tmp_path, 3)
    later = segment_path(tmp_path, 6)
    later.write_bytes(MAGIC + encode_frame(6, [b"command 6"]))
    error = refusal(tmp_path)
    assert error.path == list_segments(tmp_path)[0].path
    assert error.sequence == 3
    assert "a gap between segments" in str(error)
    assert later.name in str(error)


def test_an_overlap_between_segments_is_corruption_not_a_silent_skip(tmp_path: Path) -> None:
    write(tmp_path, 3)
    segment_path(tmp_path, 3).write_bytes(MAGIC + encode_frame(3, [b"another 3"]))
    error = refusal(tmp_path)
    assert error.sequence == 3
    assert "an overlap between segments" in str(error)


def test_a_journal_whose_first_segments_are_missing_is_corruption(tmp_path: Path) -> None:
    two_segments(tmp_path)
    first = list_segments(tmp_path)[0].path
    first.unlink()
    error = refusal(tmp_path)
    assert (error.path, error.sequence) == (segment_path(tmp_path, 4), 1)


def test_a_journal_that_ends_before_where_reading_starts_is_corruption(tmp_path: Path) -> None:
    write(tmp_path, 3)
    error = refusal(tmp_path, after_sequence=7)  # a snapshot at 7 over a journal cut at 3
    assert (error.path, error.sequence) == (last_segment(tmp_path), 3)
    assert "ends at sequence 3" in str(error)


@pytest.mark.parametrize(
    ("magic", "said"),
    [(b"NOTAJRNL", "not a journal segment"), (b"BBJRNL01", "journal format 01; this build reads format 02")],
)
def test_a_wrong_magic_or_version_names_the_file_and_its_first_sequence(
    tmp_path: Path, magic: bytes, said: str
) -> None:
    write(tmp_path, 2)
    segment = last_segment(tmp_path)
    segment.write_bytes(magic + segment.read_bytes()[len(MAGIC) :])
    error = refusal(tmp_path)
    assert (error.path, error.offset, error.sequence) == (segment, 0, 1)
    assert said in str(error)
    assert str(segment) in str(error)


def test_a_record_longer_than_its_frame_is_corruption_even_with_a_good_checksum(tmp_path: Path) -> None:
    write(tmp_path, 1)
    records = RECORD_LENGTH.pack(3) + b"abc" + RECORD_LENGTH.pack(40) + b"short"
    head = FRAME_HEAD.pack(len(records), 2, 2)
    frame = head + records + FRAME_CHECKSUM.pack(zlib.crc32(records, zlib.crc32(head)))
    segment = last_segment(tmp_path)
    segment.write_bytes(segment.read_bytes() + frame)
    error = refusal(tmp_path)
    record_at = len(MAGIC) + FRAME_BYTES + FRAME_HEAD.size + RECORD_LENGTH.size + 3
    assert (error.path, error.offset, error.sequence) == (segment, record_at, 3)
    assert "runs past the end of its frame" in str(error)


def test_a_torn_tail_is_logged_with_its_bytes_and_first_sequence_as_it_is_cut(tmp_path: Path) -> None:
    write(tmp_path, 2)
    segment = last_segment(tmp_path)
    segment.write_bytes(segment.read_bytes() + encode_frame(3, [b"command 3", b"command 4"])[:-2])
    with structlog.testing.capture_logs() as logs:
        cut = discard_torn_tail(tmp_path)
    (line,) = [line for line in logs if line["event"] == "journal.torn_tail_discarded"]
    assert line["file"] == str(segment)
    assert line["bytes_discarded"] == cut > 0
    assert line["from_byte"] == len(MAGIC) + 2 * FRAME_BYTES
    assert line["from_sequence"] == 3


# --- identity ---------------------------------------------------------------------------------------


def test_a_new_journal_gets_an_identity_that_stays_across_openings(tmp_path: Path) -> None:
    write(tmp_path, 2)
    identity = journal_identity(tmp_path)
    assert len(identity) == 32
    write(tmp_path, 1, first=3)
    assert journal_identity(tmp_path) == identity
    another = tmp_path / "another"
    write(another, 1)
    assert journal_identity(another) != identity


def test_a_journal_from_before_identities_adopts_one_and_keeps_its_records(tmp_path: Path) -> None:
    payloads = write(tmp_path, 2)
    (tmp_path / IDENTITY_FILE).unlink()
    writer = JournalWriter(tmp_path, next_sequence=3, policy=FsyncPolicy.ALWAYS)
    writer.close()
    assert writer.identity == journal_identity(tmp_path)
    assert list(read_journal(tmp_path)) == list(enumerate(payloads, start=1))


def test_a_damaged_identity_is_refused_naming_its_file(tmp_path: Path) -> None:
    write(tmp_path, 1)
    (tmp_path / IDENTITY_FILE).write_text("not an identity\n")
    with pytest.raises(JournalCorrupted) as raised:
        journal_identity(tmp_path)
    assert raised.value.path == tmp_path / IDENTITY_FILE
