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

Every other surprise is `JournalCorrupted`, naming the file, the byte and the sequence: a frame
that starts at the wrong sequence (a gap or an overlap), a segment that is not the last ending in a
partial frame or not where the next one starts, a record longer than its frame, a file that is not
a segment of this format. A torn last frame is logged (file, bytes, first sequence) as it is cut.

Identity: `journal-identity` beside the segments holds 32 random hexadecimal digits, written once
(atomically, synced) when a writer first opens the directory; a journal from before identities
adopts one then. A database that books from a journal records its identity, so that it can refuse
another installation's journal (see `backbone.brokerage.trading.journal_binding`). A file of its
own rather than a field in each segment's header keeps the segment format, and every existing
journal, as it is.

Durability (`FsyncPolicy`): `always` makes each command durable before its result is published;
`group` makes a group durable with one fdatasync and then publishes it (group commit); `none` hands
frames to the operating system only (they survive a crash of the process, not of the machine). In
every policy a result is published only after its frame has been written.
"""

from __future__ import annotations

import os
import secrets
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from backbone.exchange.errors import JournalCorrupted
from backbone.kit import faults
from backbone.kit.check import InvariantViolation, invariant
from backbone.kit.faults import Point
from backbone.kit.logs import get_logger

MAGIC: Final = b"BBJRNL02"
MAGIC_VERSION_BYTES: Final = 2  # the magic ends in the format's version: "02"
FRAME_HEAD: Final = struct.Struct("<IQI")  # records length, first sequence, record count
FRAME_CHECKSUM: Final = struct.Struct("<I")
FRAME_OVERHEAD: Final = FRAME_HEAD.size + FRAME_CHECKSUM.size
RECORD_LENGTH: Final = struct.Struct("<H")
RECORD_PAYLOAD_BYTES_MAX: Final = 4_096
FRAME_RECORDS_BYTES_MAX: Final = 64 * 1024 * 1024
SEGMENT_PREFIX: Final = "journal-"
SEGMENT_SUFFIX: Final = ".log"
SEQUENCE_DIGITS: Final = 20
IDENTITY_FILE: Final = "journal-identity"  # not a segment: segments end in SEGMENT_SUFFIX
IDENTITY_BYTES: Final = 16  # written as 32 hexadecimal digits
log = get_logger("backbone.exchange.journal")


class FsyncPolicy(StrEnum):
    ALWAYS = "always"
    GROUP = "group"
    NONE = "none"


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
    check_magic(segment, data)
    records: list[tuple[int, bytes]] = []
    position = len(MAGIC)
    expected = segment.first_sequence
    while position < len(data):
        frame = read_frame(data, position, segment.path)
        if frame is None:
            if is_torn_tail(data, position):
                return SegmentContents(records, position, len(data) - position)
            raise JournalCorrupted(
                segment.path,
                offset=position,
                sequence=expected,
                problem="the frame is short or fails its checksum, and more data follows it",
            )
        first_sequence, payloads, end = frame
        if first_sequence != expected:
            kind = "a gap" if first_sequence > expected else "an overlap"
            raise JournalCorrupted(
                segment.path,
                offset=position,
                sequence=first_sequence,
                problem=f"{kind}: the frame starts at sequence {first_sequence} where {expected} was due",
            )
        for payload in payloads:
            records.append((expected, payload))
            expected += 1
        position = end
    return SegmentContents(records, position, 0)


def check_magic(segment: Segment, data: bytes) -> None:
    magic = data[: len(MAGIC)]
    if magic == MAGIC:
        return
    family = MAGIC[:-MAGIC_VERSION_BYTES]
    if magic.startswith(family):
        version = magic[len(family) :].decode("ascii", "replace")
        problem = f"journal format {version}; this build reads format {MAGIC[len(family) :].decode()} only"
    else:
        problem = f"not a journal segment: it starts with {magic!r}, not {MAGIC!r}"
    raise JournalCorrupted(segment.path, offset=0, sequence=segment.first_sequence, problem=problem)


def read_frame(data: bytes, position: int, path: Path) -> tuple[int, list[bytes], int] | None:
    """(first sequence, record payloads, end position) of the complete frame at `position` of the
    file `path`, or None when it is incomplete or its checksum fails."""
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
    payloads = read_records(data, start, start + length, path, first_sequence)
    if len(payloads) != count:
        raise JournalCorrupted(
            path,
            offset=position,
            sequence=first_sequence,
            problem=f"the frame passes its checksum but holds {len(payloads)} records, not {count}",
        )
    return first_sequence, payloads, end


def read_records(data: bytes, start: int, stop: int, path: Path, first_sequence: int) -> list[bytes]:
    """The records from `start` to `stop`, a frame whose checksum passed, each within the frame: a
    checksum proves that the bytes are the ones written, not that the writer framed them right."""
    payloads: list[bytes] = []
    cursor = start
    while cursor < stop:
        payload_start = cursor + RECORD_LENGTH.size
        size = RECORD_LENGTH.unpack_from(data, cursor)[0] if payload_start <= stop else 0
        if payload_start + size > stop:
            raise JournalCorrupted(
                path,
                offset=cursor,
                sequence=first_sequence + len(payloads),
                problem=f"the record runs past the end of its frame, at byte {stop}",
            )
        payloads.append(data[payload_start : payload_start + size])
        cursor = payload_start + size
    return payloads


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
    before it are not read at all: that is how a snapshot bounds replay time. Each segment read
    continues the one before it exactly, and the journal reaches `after_sequence`, or this raises
    `JournalCorrupted`."""
    segments = list_segments(directory)
    if not segments and after_sequence > 0:
        raise JournalCorrupted(
            directory,
            offset=0,
            sequence=after_sequence,
            problem=f"no journal segments here, but it was to be read after sequence {after_sequence}",
        )
    expected = after_sequence + 1
    for index, segment in enumerate(segments):
        following = segments[index + 1] if index + 1 < len(segments) else None
        if following is not None and following.first_sequence <= expected:
            continue
        contents = read_segment(segment)
        if following is not None:
            check_continued(segment, contents, following)
        check_reaches(segment, contents, expected)
        for sequence, payload in contents.records:
            if sequence >= expected:
                yield sequence, payload
        expected = max(expected, segment.first_sequence + len(contents.records))


def check_reaches(segment: Segment, contents: SegmentContents, expected: int) -> None:
    """The segment holds sequence `expected`, or is the last and ends just before it (nothing
    was written since)."""
    if segment.first_sequence > expected:
        raise JournalCorrupted(
            segment.path,
            offset=0,
            sequence=expected,
            problem=f"a gap: sequence {expected} is due but the segment starts at {segment.first_sequence}",
        )
    last = segment.first_sequence + len(contents.records) - 1
    if last + 1 < expected:
        raise JournalCorrupted(
            segment.path,
            offset=contents.valid_bytes,
            sequence=last,
            problem=f"the journal ends at sequence {last} but is read from after {expected - 1} "
            "(a snapshot newer than the journal?)",
        )


def check_continued(segment: Segment, contents: SegmentContents, following: Segment) -> None:
    """A segment that is not the last ends in a complete frame, just before the next one starts."""
    last = segment.first_sequence + len(contents.records) - 1
    if contents.torn_bytes:
        raise JournalCorrupted(
            segment.path,
            offset=contents.valid_bytes,
            sequence=last + 1,
            problem=f"the segment ends in {contents.torn_bytes} bytes of an incomplete frame, "
            f"but it is not the last: {following.path.name} follows",
        )
    if last + 1 != following.first_sequence:
        kind = "a gap" if last + 1 < following.first_sequence else "an overlap"
        raise JournalCorrupted(
            segment.path,
            offset=contents.valid_bytes,
            sequence=last,
            problem=f"{kind} between segments: this one ends at sequence {last}, "
            f"the next, {following.path.name}, starts at {following.first_sequence}",
        )


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
    log.warning(
        "journal.torn_tail_discarded",
        file=str(last.path),
        from_byte=contents.valid_bytes,
        bytes_discarded=contents.torn_bytes,
        from_sequence=last.first_sequence + len(contents.records),
        reason="an incomplete last frame: its group was never published",
    )
    if contents.valid_bytes == 0:
        last.path.unlink()
    else:
        with last.path.open("r+b") as file:
            file.truncate(contents.valid_bytes)
            file.flush()
            os.fsync(file.fileno())
    fsync_directory(directory)
    return contents.torn_bytes


def journal_identity(directory: Path) -> str:
    """The journal's identity, written the first time it is asked for: a journal adopts one on
    its first opening, whether it is new or from before identities."""
    path = directory / IDENTITY_FILE
    if not path.exists():
        create_identity(path)
    text = path.read_bytes().decode("ascii", "replace").strip()
    if len(text) != 2 * IDENTITY_BYTES or not all(digit in "0123456789abcdef" for digit in text):
        raise JournalCorrupted(
            path, offset=0, sequence=None, problem=f"not a journal identity ({2 * IDENTITY_BYTES} hex digits)"
        )
    return text


def create_identity(path: Path) -> None:
    # Written under a name of its own, synced, then linked into place: the identity appears whole
    # or not at all, and of two openers racing, the first one's stands (a link never replaces).
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(descriptor, f"{secrets.token_hex(IDENTITY_BYTES)}\n".encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    fsync_directory(path.parent)


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
        self.identity = journal_identity(directory)
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
