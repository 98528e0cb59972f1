"""Typed refusals of the market's HTTP surface, and of its journal at start. (The matching engine
itself never raises on a business reject: it returns a result with a reason code.)"""

from __future__ import annotations

from pathlib import Path

from backbone.errors import BackboneError, InvalidInput


class InvalidCommand(InvalidInput):
    """A client's command object that cannot be read at all (not a business reject: those are
    the engine's reason codes). It gets no sequence number and is not journaled."""

    code = "market.invalid_command"
    title = "The command cannot be read"


class UnknownInstrument(BackboneError):
    status_code = 404
    code = "market.unknown_instrument"
    title = "Unknown instrument"


class JournalCorrupted(BackboneError):
    """The venue's journal cannot be read as it was written: a bad frame with data after it, a
    partial frame at the end of a segment that is not the last, a gap or an overlap in sequences,
    a file that is not a segment of this format. The venue refuses to start rather than guess. (A
    torn last frame of the last segment is not this: its group was never published, and it is cut
    off.)"""

    status_code = 503
    code = "market.journal_corrupted"
    title = "The venue's journal is damaged"

    def __init__(self, path: Path, *, offset: int, sequence: int | None, problem: str) -> None:
        place = (
            f"{path}, byte {offset}" if sequence is None else f"{path}, byte {offset}, sequence {sequence}"
        )
        super().__init__(f"{place}: {problem}", file=str(path), offset=offset, sequence=sequence)
        self.path = path
        self.offset = offset
        self.sequence = sequence


class JournalInUse(BackboneError):
    """Another live process has the venue's journal open: one writer per journal, always."""

    status_code = 409
    code = "market.journal_in_use"
    title = "The venue's journal is in use"
