"""The durable journal of commands: every command, with its sequence number, before any result.

A journal is a directory of segment files `journal-<first sequence>.log`. A new segment starts
whenever a snapshot is taken, so recovery reads only the segments after the latest snapshot.

Segment file: the 8 bytes `MAGIC`, then frames, one per group commit (one per command under the
`always` policy):

    u32 records length | u64 first sequence | u32 record count | records | u32 CRC-32 of all before
    record: u16 payload length | payload (a command, codec.py); sequences count up from the first

A frame is complete only when its length fits in the file and its checksum matches, so every
record in it is complete too. After a crash the last frame may be torn (partly written, or
zero-filled by the file system): it is discarded whole — its group's results were never published,
because a group is published only after its frame is durable. A bad frame with data after it is
damage, not a torn tail: recovery stops with `JournalCorrupted` rather than drop acknowledged
commands. One checksum per group rather than per record keeps the journal's cost per command to a
couple of byte copies.

Durability (`FsyncPolicy`): `always` makes each command durable before its result is published;
`group` makes a group durable with one fdatasync and then publishes it (group commit); `none` hands
frames to the operating system only (they survive a crash of the process, not of the machine). In
every policy a result is published only after its frame has been written.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from backbone.kit import faults
from backbone.kit.check import InvariantViolation, invariant
from backbone.kit.faults import Point

MAGIC: Final = b"BBJRNL02"
FRAME_HEAD: Final = struct.Struct("<IQI")  # records length, first sequence, record count
FRAME_CHECKSUM: Final = struct.Struct("<I")
FRAME_OVERHEAD: Final = FRAME_HEAD.size + FRAME_CHECKSUM.size
RECORD_LENGTH: Final = struct.Struct("<H")
RECORD_PAYLOAD_BYTES_MAX: Final = 4_096
FRAME_RECORDS_BYTES_MAX: Final = 64 * 1024 * 1024
SEGMENT_PREFIX: Final = "journal-"
SEGMENT_SUFFIX: Final = ".log"
SEQUENCE_DIGITS: Final = 20


class FsyncPolicy(StrEnum):
    ALWAYS = "always"
    GROUP = "group"
    NONE = "none"


class JournalCorrupted(Exception):
    """A frame in the middle of the journal is unreadable: stop, do not guess."""


@dataclass(frozen=True, slots=True)
class Segment:
    first_sequence: int
    path: Path


@dataclass(frozen=True, slots=True)
class SegmentContents:
    records: list[tuple[int, bytes]]  # (sequence, payload)
    valid_bytes: int  # the length of the file up to the end of its last complete frame
    torn_bytes: int  # bytes after that: a torn last frame, discarded


def segment_path(directory: Path, first_sequence: int) -> Path:
    return directory / f"{SEGMENT_PREFIX}{first_sequence:0{SEQUENCE_DIGITS}d}{SEGMENT_SUFFIX}"


def list_segments(directory: Path) -> list[Segment]:
    segments = []
    for path in directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
        digits = path.name.removeprefix(SEGMENT_PREFIX).removesuffix(SEGMENT_SUFFIX)
        if digits.isdigit():
            segments.append(Segment(int(digits), path))
    return sorted(segments, key=lambda segment: segment.first_sequence)


def encode_frame(first_sequence: int, payloads: list[bytes]) -> bytes:
    """One frame holding `payloads` as records numbered from `first_sequence`."""
    records = b"".join(RECORD_LENGTH.pack(len(payload)) + payload for payload in payloads)
    head = FRAME_HEAD.pack(len(records), first_sequence, len(payloads))
    return head + records + FRAME_CHECKSUM.pack(zlib.crc32(records, zlib.crc32(head)))


def read_segment(segment: Segment) -> SegmentContents:
    data = segment.path.read_bytes()
    if len(data) < len(MAGIC):
        # A segment whose creation was cut short holds no frames at all.
        return SegmentContents([], 0, len(data))
    if data[: len(MAGIC)] != MAGIC:
        raise JournalCorrupted(f"{segment.path} is not a journal segment (or an older format)")
    records: list[tuple[int, bytes]] = []
    position = len(MAGIC)
    expected = segment.first_sequence
    while position < len(data):
        frame = read_frame(data, position)
        if frame is None:
            if is_torn_tail(data, position):
                return SegmentContents(records, position, len(data) - position)
            raise JournalCorrupted(f"{segment.path}: unreadable frame at byte {position} before more data")
        first_sequence, payloads, end = frame
        if first_sequence != expected:
            raise JournalCorrupted(f"{segment.path}: sequence {first_sequence} where {expected} was due")
        for payload in payloads:
            records.append((expected, payload))
            expected += 1
        position = end
    return SegmentContents(records, position, 0)


def read_frame(data: bytes, position: int) -> tuple[int, list[bytes], int] | None:
    """(first sequence, record payloads, end position) of the complete frame at `position`, or
    None when it is incomplete or its checksum fails."""
    if len(data) - position < FRAME_OVERHEAD:
        return None
    length, first_sequence, count = FRAME_HEAD.unpack_from(data, position)
    start = position + FRAME_HEAD.size
    end = start + length + FRAME_CHECKSUM.size
    if length > FRAME_RECORDS_BYTES_MAX or end > len(data):
        return None
    (checksum,) = FRAME_CHECKSUM.unpack_from(data, end - FRAME_CHECKSUM.size)
    if zlib.crc32(data[position : end - FRAME_CHECKSUM.size]) != checksum:
        return None
    payloads: list[bytes] = []
    cursor = start
    while cursor < start + length:
        (size,) = RECORD_LENGTH.unpack_from(data, cursor)
        cursor += RECORD_LENGTH.size
        payloads.append(data[cursor : cursor + size])
        cursor += size
    if cursor != start + length or len(payloads) != count:
        raise JournalCorrupted(f"a frame at byte {position} passes its checksum but not its own count")
    return first_sequence, payloads, end


def is_torn_tail(data: bytes, position: int) -> bool:
    """Whether the unreadable frame at `position` can only be the torn end of the journal: a
    partial header, or a frame with nothing but zeros after its declared end (a file system may
    zero-fill what it had not written yet when the machine stopped). Frames are written in order,
    so real data after a bad frame means the bad frame is damage in the middle."""
    if len(data) - position < FRAME_OVERHEAD:
        return True
    length, _first, _count = FRAME_HEAD.unpack_from(data, position)
    if length > FRAME_RECORDS_BYTES_MAX:
        return not data[position:].strip(b"\0")
    return not data[position + FRAME_OVERHEAD + length :].strip(b"\0")


def read_journal(directory: Path, *, after_sequence: int = 0) -> Iterator[tuple[int, bytes]]:
    """Every complete record with a sequence above `after_sequence`, in order. Segments wholly
    before it are not read at all: that is how a snapshot bounds replay time."""
    segments = list_segments(directory)
    expected = after_sequence + 1
    for position, segment in enumerate(segments):
        following = segments[position + 1].first_sequence if position + 1 < len(segments) else None
        if following is not None and following <= expected:
            continue
        contents = read_segment(segment)
        if contents.torn_bytes and following is not None:
            raise JournalCorrupted(f"{segment.path} is torn but is not the last segment")
        for sequence, payload in contents.records:
            if sequence < expected:
                continue
            if sequence != expected:
                raise JournalCorrupted(f"sequence {sequence} where {expected} was due")
            yield sequence, payload
            expected += 1


def discard_torn_tail(directory: Path) -> int:
    """Cut a torn last frame off the last segment, so that appends follow the last good one.
    Returns the number of bytes cut."""
    segments = list_segments(directory)
    if not segments:
        return 0
    last = segments[-1]
    contents = read_segment(last)
    if not contents.torn_bytes:
        return 0
    if contents.valid_bytes == 0:
        last.path.unlink()
    else:
        with last.path.open("r+b") as file:
            file.truncate(contents.valid_bytes)
            file.flush()
            os.fsync(file.fileno())
    fsync_directory(directory)
    return contents.torn_bytes


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class JournalWriter:
    """Appends frames to the last segment. `append` only buffers a record; `take` closes the
    buffered records into a frame; `write` writes a frame and, unless the policy is `none`, waits
    until the disk has it (fdatasync) — possibly on another thread, one frame at a time, in order."""

    def __init__(self, directory: Path, *, next_sequence: int, policy: FsyncPolicy) -> None:
        self.directory = directory
        self.policy = policy
        self.next_sequence = next_sequence
        self.records = bytearray()
        self.record_count = 0
        directory.mkdir(parents=True, exist_ok=True)
        segments = list_segments(directory)
        if segments:
            invariant(read_segment(segments[-1]).torn_bytes == 0, "discard the torn tail before appending")
            invariant(segments[-1].first_sequence <= next_sequence, "appends follow the last segment")
            self.descriptor = os.open(segments[-1].path, os.O_WRONLY | os.O_APPEND)
            self.segment_first_sequence = segments[-1].first_sequence
        else:
            self.descriptor = self.create_segment(next_sequence)
            self.segment_first_sequence = next_sequence

    def create_segment(self, first_sequence: int) -> int:
        path = segment_path(self.directory, first_sequence)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        write_all(descriptor, MAGIC)
        os.fsync(descriptor)
        fsync_directory(self.directory)
        return descriptor

    def append(self, sequence: int, payload: bytes) -> None:
        # On the hot path: the checks raise directly rather than through a call to invariant().
        if sequence != self.next_sequence:
            raise InvariantViolation(f"journal record {sequence} out of order; {self.next_sequence} was due")
        size = len(payload)
        if size > RECORD_PAYLOAD_BYTES_MAX:
            raise InvariantViolation("a journal record fits RECORD_PAYLOAD_BYTES_MAX")
        records = self.records
        records += size.to_bytes(2, "little")
        records += payload
        self.record_count += 1
        self.next_sequence = sequence + 1

    def take(self) -> bytes:
        """The records appended since the last take, as one frame (empty when there are none)."""
        count = self.record_count
        if not count:
            return b""
        records = self.records
        head = FRAME_HEAD.pack(len(records), self.next_sequence - count, count)
        checksum = FRAME_CHECKSUM.pack(zlib.crc32(records, zlib.crc32(head)))
        frame = b"".join((head, records, checksum))
        records.clear()
        self.record_count = 0
        return frame

    def write(self, frame: bytes) -> None:
        """Write a frame from `take` and, unless the policy is `none`, wait until the disk has it."""
        if frame:
            faults.hit(Point.JOURNAL_WRITE)
            write_all(self.descriptor, frame)
            if self.policy is not FsyncPolicy.NONE:
                os.fdatasync(self.descriptor)

    def commit(self) -> None:
        """Write and sync everything appended so far, on this thread."""
        self.write(self.take())

    def rotate(self) -> None:
        """Start a new segment at the next sequence (after a snapshot), unless the current one
        is still empty and so already starts there."""
        self.commit()
        if self.segment_first_sequence == self.next_sequence:
            return
        os.fsync(self.descriptor)
        os.close(self.descriptor)
        self.descriptor = self.create_segment(self.next_sequence)
        self.segment_first_sequence = self.next_sequence

    def close(self) -> None:
        self.commit()
        os.close(self.descriptor)

    def abandon(self) -> None:
        """Close without writing what is buffered (after a failed write)."""
        self.records.clear()
        self.record_count = 0
        os.close(self.descriptor)


def write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]
