"""The durable journal of commands: every command, with its sequence number, before any result.

A journal is a directory of segment files `journal-<first sequence>.log`. A new segment starts
whenever a snapshot is taken, so recovery reads only the segments after the latest snapshot.

Segment file: the 8 bytes `MAGIC`, then records, each

    u32 payload length | u64 sequence | payload (codec.py) | u32 CRC-32 of everything before it

A record is complete only when its length fits in the file and its checksum matches. After a crash
the last record may be torn (partly written, or zero-filled by the file system): it is discarded,
because its result was never published. A bad record with good data after it is corruption, not a
torn tail, and recovery stops with `JournalCorrupted` rather than drop acknowledged commands.

Durability (`FsyncPolicy`): `always` makes each command durable before its result is published;
`group` makes a batch durable with one fdatasync and then publishes the batch (group commit);
`none` hands records to the operating system only (they survive a crash of the process, not of the
machine). In every policy a result is published only after its record has been written.
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

from backbone.kit.check import invariant

MAGIC: Final = b"BBJRNL01"
RECORD_HEAD: Final = struct.Struct("<IQ")  # payload length, sequence
RECORD_CHECKSUM: Final = struct.Struct("<I")
RECORD_OVERHEAD: Final = RECORD_HEAD.size + RECORD_CHECKSUM.size
RECORD_PAYLOAD_BYTES_MAX: Final = 4_096
SEGMENT_PREFIX: Final = "journal-"
SEGMENT_SUFFIX: Final = ".log"
SEQUENCE_DIGITS: Final = 20


class FsyncPolicy(StrEnum):
    ALWAYS = "always"
    GROUP = "group"
    NONE = "none"


class JournalCorrupted(Exception):
    """A record in the middle of the journal is unreadable: stop, do not guess."""


@dataclass(frozen=True, slots=True)
class Segment:
    first_sequence: int
    path: Path


@dataclass(frozen=True, slots=True)
class SegmentContents:
    records: list[tuple[int, bytes]]  # (sequence, payload)
    valid_bytes: int  # the length of the file up to the end of its last complete record
    torn_bytes: int  # bytes after that: a torn last record, discarded


def segment_path(directory: Path, first_sequence: int) -> Path:
    return directory / f"{SEGMENT_PREFIX}{first_sequence:0{SEQUENCE_DIGITS}d}{SEGMENT_SUFFIX}"


def list_segments(directory: Path) -> list[Segment]:
    segments = []
    for path in directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
        digits = path.name.removeprefix(SEGMENT_PREFIX).removesuffix(SEGMENT_SUFFIX)
        if digits.isdigit():
            segments.append(Segment(int(digits), path))
    return sorted(segments, key=lambda segment: segment.first_sequence)


def encode_record(sequence: int, payload: bytes) -> bytes:
    body = RECORD_HEAD.pack(len(payload), sequence) + payload
    return body + RECORD_CHECKSUM.pack(zlib.crc32(body))


def read_segment(segment: Segment) -> SegmentContents:
    data = segment.path.read_bytes()
    if len(data) < len(MAGIC):
        # A segment whose creation was cut short holds no records at all.
        return SegmentContents([], 0, len(data))
    if data[: len(MAGIC)] != MAGIC:
        raise JournalCorrupted(f"{segment.path} is not a journal segment")
    records: list[tuple[int, bytes]] = []
    position = len(MAGIC)
    expected = segment.first_sequence
    while position < len(data):
        record = read_record(data, position)
        if record is None:
            if is_torn_tail(data, position):
                return SegmentContents(records, position, len(data) - position)
            raise JournalCorrupted(f"{segment.path}: unreadable record at byte {position} before more data")
        sequence, payload = record
        if sequence != expected:
            raise JournalCorrupted(f"{segment.path}: sequence {sequence} where {expected} was due")
        records.append(record)
        expected += 1
        position += RECORD_OVERHEAD + len(payload)
    return SegmentContents(records, position, 0)


def read_record(data: bytes, position: int) -> tuple[int, bytes] | None:
    """The (sequence, payload) of the complete record at `position`, or None."""
    if len(data) - position < RECORD_OVERHEAD:
        return None
    length, sequence = RECORD_HEAD.unpack_from(data, position)
    end = position + RECORD_OVERHEAD + length
    if length > RECORD_PAYLOAD_BYTES_MAX or end > len(data):
        return None
    (checksum,) = RECORD_CHECKSUM.unpack_from(data, end - RECORD_CHECKSUM.size)
    if zlib.crc32(data[position : end - RECORD_CHECKSUM.size]) != checksum:
        return None
    return sequence, data[position + RECORD_HEAD.size : end - RECORD_CHECKSUM.size]


def is_torn_tail(data: bytes, position: int) -> bool:
    """Whether the unreadable record at `position` can only be the torn end of the journal: a
    partial header, or a record with nothing but zeros after its declared end (a file system may
    zero-fill what it had not written yet when the machine stopped). Records are written in order,
    so real data after a bad record means the bad record is damage in the middle."""
    if len(data) - position < RECORD_OVERHEAD:
        return True
    length, _sequence = RECORD_HEAD.unpack_from(data, position)
    if length > RECORD_PAYLOAD_BYTES_MAX:
        return not data[position:].strip(b"\0")
    return not data[position + RECORD_OVERHEAD + length :].strip(b"\0")


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
    """Cut a torn last record off the last segment, so that appends follow the last good one.
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
    """Appends records to the last segment. `append` only buffers; `commit` writes the buffer and,
    unless the policy is `none`, waits until the disk has it (fdatasync)."""

    def __init__(self, directory: Path, *, next_sequence: int, policy: FsyncPolicy) -> None:
        self.directory = directory
        self.policy = policy
        self.next_sequence = next_sequence
        self.buffer = bytearray()
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
        invariant(sequence == self.next_sequence, "journal records are appended in sequence order")
        invariant(len(payload) <= RECORD_PAYLOAD_BYTES_MAX, "a journal record fits RECORD_PAYLOAD_BYTES_MAX")
        body = RECORD_HEAD.pack(len(payload), sequence) + payload
        self.buffer += body
        self.buffer += RECORD_CHECKSUM.pack(zlib.crc32(body))
        self.next_sequence = sequence + 1

    def commit(self) -> None:
        if self.buffer:
            write_all(self.descriptor, self.buffer)
            self.buffer.clear()
            if self.policy is not FsyncPolicy.NONE:
                os.fdatasync(self.descriptor)

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


def write_all(descriptor: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]
