"""Typed refusals of the market's HTTP surface. (The matching engine itself never raises on a
business reject: it returns a result with a reason code.)"""

from __future__ import annotations

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


class JournalInUse(BackboneError):
    """Another live process has the venue's journal open: one writer per journal, always."""

    status_code = 409
    code = "market.journal_in_use"
    title = "The venue's journal is in use"
