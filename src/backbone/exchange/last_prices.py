"""The last-price board: every instrument's last price in a small memory-mapped file, written by
the one process that runs the venue and read by every other process of the installation (the open
API's workers, `backbone serve-open-api`), so that a balance is valued at the same price in every
process without asking the venue.

Layout (little-endian), fixed once the file is made:

    header (64 bytes): magic (8) | slot count u32 | slot bytes u32 | sequence u64 | reserved
    slots (24 bytes each, from byte 64): instrument code (16, ASCII, NUL-padded) | price i64 (won)

One writer (the venue's pipeline thread; the venue's journal admits one process), any number of
readers. The sequence is a seqlock: the writer makes it odd, writes the prices, makes it even
again; a reader takes a price only if it saw the same even sequence before and after reading it,
else it reads again, so a reader never sees a write half done. A writer that died in the middle
leaves the sequence odd: a reader gives up after `READ_WAIT_S_MAX` (the caller falls back to the
base price), and at once on later reads, until the next venue process rewrites the board. When
the instrument master changes, the writer makes a new file, renames it over the old one and marks
the old one retired (sequence `RETIRED`), which tells readers still mapping it to open the new one.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from backbone.exchange.messages import ChangeSessionPhase, CommandResult, TradeExecuted

MAGIC: Final = b"BBPRICE1"
HEADER = struct.Struct("<8sII")  # magic, slot count, slot bytes
SEQUENCE = struct.Struct("<Q")
SLOT = struct.Struct("<16sq")
PRICE = struct.Struct("<q")
HEADER_BYTES: Final = 64
SEQUENCE_OFFSET: Final = 16
CODE_BYTES: Final = 16
RETIRED: Final = (1 << 64) - 1  # odd: a reader never takes a price while it is set
INSTRUMENTS_MAX: Final = 100_000
READ_WAIT_S_MAX: Final = 0.05  # a live writer holds the sequence odd for microseconds
REOPEN_INTERVAL_S: Final = 1.0  # how often a reader looks for a board that is not there yet
FILE_NAME: Final = "last-prices"


def board_path(exchange_directory: Path) -> Path:
    """Where the board lives: beside the venue's journal (var/exchange/last-prices)."""
    return exchange_directory / FILE_NAME


class LastPriceWriter:
    """The venue process's side. Not shared between threads without its own lock (it has one)."""

    def __init__(self, path: Path, codes: Iterable[str]) -> None:
        self.path = path
        self._codes = sorted(codes)
        if not 0 < len(self._codes) <= INSTRUMENTS_MAX:
            raise ValueError(f"a board holds 1 to {INSTRUMENTS_MAX:,} instruments")
        self._lock = threading.Lock()
        self._map = self._open_or_make()
        self._offsets = {code: HEADER_BYTES + index * SLOT.size for index, code in enumerate(self._codes)}
        self._sequence = SEQUENCE.unpack_from(self._map, SEQUENCE_OFFSET)[0]
        if self._sequence & 1:
            self._sequence += 1  # a writer died mid-write; the next write settles every slot

    def write(self, prices: Mapping[str, int]) -> None:
        """Publish these instruments' prices as one change (unknown codes are ignored)."""
        with self._lock:
            board = self._map
            SEQUENCE.pack_into(board, SEQUENCE_OFFSET, self._sequence + 1)
            for code, price in prices.items():
                offset = self._offsets.get(code)
                if offset is not None:
                    PRICE.pack_into(board, offset + CODE_BYTES, price)
            self._sequence += 2
            SEQUENCE.pack_into(board, SEQUENCE_OFFSET, self._sequence)

    def close(self) -> None:
        with self._lock:
            self._map.close()

    def _open_or_make(self) -> mmap.mmap:
        existing = _map_file(self.path, writable=True)
        if existing is not None and _codes_of(existing) == self._codes:
            return existing
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.path.with_name(f"{self.path.name}.{os.getpid()}.new")
        contents = bytearray(HEADER_BYTES + len(self._codes) * SLOT.size)
        HEADER.pack_into(contents, 0, MAGIC, len(self._codes), SLOT.size)
        for index, code in enumerate(self._codes):
            SLOT.pack_into(contents, HEADER_BYTES + index * SLOT.size, code.encode("ascii"), 0)
        fresh.write_bytes(bytes(contents))
        os.replace(fresh, self.path)
        if existing is not None:
            # Readers still mapping the old file: tell them to open the new one.
            SEQUENCE.pack_into(existing, SEQUENCE_OFFSET, RETIRED)
            existing.close()
        made = _map_file(self.path, writable=True)
        if made is None:
            raise RuntimeError(f"the last-price board {self.path} could not be opened after writing it")
        return made


class LastPriceReader:
    """Any process's side: `price(code)` is the board's price, or None when there is no board
    yet, the code is not on it, no price was written, or the writer died mid-write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        self._offsets: dict[str, int] = {}
        self._looked_at = -REOPEN_INTERVAL_S
        self._abandoned = -1  # the odd sequence a dead writer left, once a read gave up on it
        self._lock = threading.Lock()

    def price(self, code: str) -> int | None:
        return self.prices((code,))[0]

    def prices(self, codes: Sequence[str]) -> list[int | None]:
        """Several prices of one moment, read under one check of the sequence."""
        board = self._map
        if board is None:
            board = self._open()
            if board is None:
                return [None] * len(codes)
        offsets = [self._offsets.get(code) for code in codes]
        unpack_sequence, unpack_price = SEQUENCE.unpack_from, PRICE.unpack_from
        deadline = 0.0
        while True:
            before = unpack_sequence(board, SEQUENCE_OFFSET)[0]
            if not before & 1:
                found = [
                    None if offset is None else unpack_price(board, offset)[0] or None for offset in offsets
                ]
                if unpack_sequence(board, SEQUENCE_OFFSET)[0] == before:
                    return found
                continue  # written meanwhile: read again
            if before == RETIRED:
                return self._prices_on_new_board(codes)
            if before == self._abandoned:
                return [None] * len(
                    codes
                )  # a writer died mid-write; waiting again would only slow every read
            if not deadline:
                deadline = time.monotonic() + READ_WAIT_S_MAX
            elif time.monotonic() > deadline:
                self._abandoned = before
                return [None] * len(codes)
            os.sched_yield()  # let the writer finish (and release the interpreter lock meanwhile)

    def _prices_on_new_board(self, codes: Sequence[str]) -> list[int | None]:
        """The writer made a new board (a new instrument master): open it at once."""
        self._map, self._looked_at = None, -REOPEN_INTERVAL_S
        board = self._open()
        if board is None or SEQUENCE.unpack_from(board, SEQUENCE_OFFSET)[0] == RETIRED:
            return [None] * len(codes)  # not there yet, or already replaced again: the next read looks again
        return self.prices(codes)

    def _open(self) -> mmap.mmap | None:
        with self._lock:
            if self._map is not None:
                return self._map
            now = time.monotonic()
            if now - self._looked_at < REOPEN_INTERVAL_S:
                return None
            self._looked_at = now
            board = _map_file(self.path, writable=False)
            if board is None:
                return None
            codes = _codes_of(board)
            if codes is None:
                board.close()
                return None
            self._offsets = {
                code: HEADER_BYTES + index * SLOT.size + CODE_BYTES for index, code in enumerate(codes)
            }
            self._map = board
            return board


class LastPricePublisher:
    """An order-pipeline listener: after each batch, the last price of every instrument it traded;
    after a session phase change (a new trading day resets base prices), every instrument's."""

    def __init__(
        self, writer: LastPriceWriter, last_price: Callable[[str], int], codes: Iterable[str]
    ) -> None:
        self.writer = writer
        self.last_price = last_price
        self.codes = tuple(codes)

    def publish_all(self) -> None:
        self.writer.write({code: self.last_price(code) for code in self.codes})

    def resynchronise(self, _venue: object) -> None:
        """After a batch it failed on: every instrument's price again."""
        self.publish_all()

    def __call__(self, results: list[CommandResult]) -> None:
        traded: set[str] = set()
        for result in results:
            if isinstance(result.command, ChangeSessionPhase):
                self.publish_all()
                return
            for event in result.events:
                if isinstance(event, TradeExecuted):
                    traded.add(event.instrument)
        if traded:
            self.writer.write({code: self.last_price(code) for code in traded})


def _map_file(path: Path, *, writable: bool) -> mmap.mmap | None:
    try:
        descriptor = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if os.fstat(descriptor).st_size < HEADER_BYTES:
            return None
        access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
        return mmap.mmap(descriptor, 0, access=access)
    finally:
        os.close(descriptor)  # the mapping keeps the file


def _codes_of(board: mmap.mmap) -> list[str] | None:
    """The slots' codes in order, or None when the file is not a board this code understands."""
    magic, count, slot_bytes = HEADER.unpack_from(board, 0)
    if magic != MAGIC or slot_bytes != SLOT.size or len(board) < HEADER_BYTES + count * SLOT.size:
        return None
    return [
        SLOT.unpack_from(board, HEADER_BYTES + index * SLOT.size)[0].rstrip(b"\0").decode("ascii")
        for index in range(count)
    ]
