"""The engine as a process: JSON-lines commands in on stdin, JSON-lines results out on stdout.

    python -m backbone.exchange.process --journal var/exchange [--fsync group] [--instruments 005930,...]

On start it recovers from the journal directory (newest snapshot, then the journal after it,
discarding a torn last record). Each input line is one command object in the shape of
`Command.to_wire()` without `timestamp_ns`, which this front end stamps from the system clock.
Input is read in whatever chunks arrive; each chunk's commands are journaled and run, the journal
is committed once (group commit), and only then are their results written to stdout, one
`CommandResult.to_wire()` object per line. A line that is not a command gets an {"error": ...}
line and no sequence number. At end of input the process flushes and exits 0.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Final

import orjson

from backbone.exchange.codec import command_from_wire
from backbone.exchange.errors import InvalidCommand
from backbone.exchange.instruments import load_instruments
from backbone.exchange.journal import FsyncPolicy
from backbone.exchange.messages import CommandResult
from backbone.exchange.schedule import timestamp_ns
from backbone.exchange.sequencer import GROUP_COMMANDS_MAX, Sequencer, open_sequencer
from backbone.exchange.snapshot import capture
from backbone.exchange.tuning import collect_when_quiet, tune_garbage_collector
from backbone.kit.clock import Clock, SystemClock

READ_CHUNK_BYTES: Final = 1 << 16
LINE_BYTES_MAX: Final = 4_096


def parse_arguments(arguments: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m backbone.exchange.process", description=__doc__)
    parser.add_argument("--journal", type=Path, required=True, help="journal and snapshot directory")
    parser.add_argument("--fsync", type=FsyncPolicy, default=FsyncPolicy.GROUP, choices=list(FsyncPolicy))
    parser.add_argument("--group-commands", type=int, default=GROUP_COMMANDS_MAX)
    parser.add_argument("--instruments", default="", help="comma-separated codes (default: the whole master)")
    parser.add_argument("--snapshot-every", type=int, default=0, help="commands between snapshots (0: never)")
    parser.add_argument("--print-state", action="store_true", help="print the engine's state at end of input")
    return parser.parse_args(arguments)


def base_prices(codes: str) -> dict[str, int]:
    master = load_instruments()
    wanted = [code for code in codes.split(",") if code] or list(master)
    return {code: master[code].base_price for code in wanted}


def run(arguments: Sequence[str], *, source: BinaryIO, sink: BinaryIO, clock: Clock) -> int:
    options = parse_arguments(arguments)

    def publish(results: list[CommandResult]) -> None:
        sink.write(b"".join(orjson.dumps(result.to_wire()) + b"\n" for result in results))
        sink.flush()

    sequencer, recovery = open_sequencer(
        options.journal,
        base_prices(options.instruments),
        publish,
        policy=options.fsync,
        group_commands_max=options.group_commands,
    )
    tune_garbage_collector()
    print(
        f"recovered: snapshot {recovery.snapshot_sequence}, replayed {recovery.replayed}, "
        f"discarded {recovery.torn_bytes} torn bytes; next sequence {recovery.next_sequence}",
        file=sys.stderr,
    )
    since_snapshot = 0
    pending = b""
    descriptor = source.fileno()
    while chunk := os.read(descriptor, READ_CHUNK_BYTES):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        if len(pending) > LINE_BYTES_MAX:
            pending = b""
            reject(sequencer, sink, "a line is longer than LINE_BYTES_MAX")
        for line in lines:
            if not line.strip():
                continue
            try:
                wire = orjson.loads(line)
                if not isinstance(wire, dict):
                    raise InvalidCommand("a command is a JSON object")
                command = command_from_wire(wire, timestamp_ns=timestamp_ns(clock.now()))
            except (orjson.JSONDecodeError, InvalidCommand) as error:
                reject(sequencer, sink, str(error))
                continue
            sequencer.submit(command)
            since_snapshot += 1
            if options.snapshot_every and since_snapshot >= options.snapshot_every:
                sequencer.snapshot()
                collect_when_quiet()
                since_snapshot = 0
        # Group commit: while more input is already waiting, this chunk's group is made durable on
        # the journal thread as the next one is matched; when input pauses, everything pending is
        # made durable and published before the process waits for more.
        if select.select([descriptor], [], [], 0)[0]:
            sequencer.commit_group()
        else:
            sequencer.flush()
    sequencer.close()
    if options.print_state:
        sink.write(orjson.dumps({"state": capture(sequencer.engine)}) + b"\n")
        sink.flush()
    return 0


def reject(sequencer: Sequencer, sink: BinaryIO, message: str) -> None:
    sequencer.flush()  # keep the output in input order
    sink.write(orjson.dumps({"error": message}) + b"\n")
    sink.flush()


def main() -> None:
    sys.exit(run(sys.argv[1:], source=sys.stdin.buffer, sink=sys.stdout.buffer, clock=SystemClock()))


if __name__ == "__main__":
    main()
