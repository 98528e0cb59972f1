"""The sequencer: numbers every command, journals it, runs it, and publishes results only once the
journal holds them — and recovery, which rebuilds the engine from a snapshot and the journal.

    submit(command) ─▶ sequence n ─▶ journal buffer ─▶ engine.handle ─▶ pending results
    group full      ─▶ the group's bytes go to the journal thread: write + fdatasync
    group durable   ─▶ publish(the group's results), on the caller's thread, in order
    flush()         ─▶ the same for whatever is pending, and wait until it is all published

The engine runs before the disk confirms, which is safe because nothing leaves before the group is
durable: if a write fails the process stops, and recovery rebuilds exactly what the journal holds
(none of whose lost commands had a published result).

Group commit: one fdatasync per group of up to `group_commands_max` commands. With the `group`
and `none` policies one group is written and synced on a journal thread while the next group is
matched (os.write and os.fdatasync release the GIL), so the disk's latency overlaps the engine's
work instead of adding to it; at most one group is in flight, and groups are published in order.
Group boundaries fall at fixed counts (and at `flush`), never on the disk's timing, so the same
input is published at the same points (the simulator, which reacts to what it sees, relies on it).
Under `always` each command is its own group, written and synced before `submit` returns. The front
end calls `flush` whenever its input goes idle, so a quiet market never waits for a group to fill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

from backbone.exchange.codec import decode_command, encode_command
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.journal import FsyncPolicy, JournalWriter, discard_torn_tail, read_journal
from backbone.exchange.messages import Command, CommandResult
from backbone.exchange.snapshot import latest_snapshot, write_snapshot
from backbone.kit.check import invariant

GROUP_COMMANDS_MAX: Final = 4_096  # commands per group commit, at most

Publisher: TypeAlias = Callable[[list[CommandResult]], None]


class Sequencer:
    def __init__(
        self,
        engine: MatchingEngine,
        journal: JournalWriter | None,
        publish: Publisher,
        *,
        next_sequence: int = 1,
        group_commands_max: int = GROUP_COMMANDS_MAX,
    ) -> None:
        invariant(1 <= group_commands_max <= GROUP_COMMANDS_MAX, "a group holds 1..GROUP_COMMANDS_MAX")
        invariant(journal is None or journal.next_sequence == next_sequence, "journal and sequencer agree")
        self.engine = engine
        self.journal = journal
        self.publish = publish
        self.next_sequence = next_sequence
        self.pending: list[CommandResult] = []
        always = journal is not None and journal.policy is FsyncPolicy.ALWAYS
        self.group_commands_max = 1 if always else group_commands_max
        # The journal thread: only when there is a journal and groups may overlap with matching.
        self.writer: ThreadPoolExecutor | None = None
        if journal is not None and not always:
            self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self.in_flight: Future[None] | None = None
        self.in_flight_results: list[CommandResult] = []

    @property
    def last_sequence(self) -> int:
        return self.next_sequence - 1

    def submit(self, command: Command) -> int:
        """Sequence, journal and run one command; returns its sequence number. Its result is
        published once its group is durable."""
        sequence = self.next_sequence
        self.next_sequence = sequence + 1
        journal = self.journal
        if journal is not None:
            journal.append(sequence, encode_command(command))
        pending = self.pending
        pending.append(CommandResult(sequence, command, self.engine.handle(command)))
        if len(pending) >= self.group_commands_max:
            self.commit_group()
        return sequence

    def commit_group(self) -> None:
        """Close the pending group: publish the group before it once that one is durable, then
        start making this one durable (on the journal thread when there is one)."""
        results = self.pending
        if not results:
            return
        self.pending = []
        journal = self.journal
        if journal is None:
            self.publish(results)
            return
        data = journal.take()
        writer = self.writer
        if writer is None:
            journal.write(data)
            self.publish(results)
            return
        self.finish_in_flight()
        self.in_flight = writer.submit(journal.write, data)
        self.in_flight_results = results

    def finish_in_flight(self) -> None:
        in_flight = self.in_flight
        if in_flight is None:
            return
        in_flight.result()  # re-raises a failed write here: the process must stop, unpublished
        results = self.in_flight_results
        self.in_flight = None
        self.in_flight_results = []
        self.publish(results)

    def flush(self) -> None:
        """Make every command submitted so far durable and publish its result; returns when done."""
        self.commit_group()
        self.finish_in_flight()

    def snapshot(self) -> Path | None:
        """Write a snapshot after the last command and start a new journal segment, so that the
        next recovery replays only what follows."""
        self.flush()
        if self.journal is None:
            return None
        path = write_snapshot(self.journal.directory, self.last_sequence, self.engine)
        self.journal.rotate()
        return path

    def abandon(self) -> None:
        """After a failed write: drop whatever is not durable and let go of the journal without
        writing more. The journal on disk is then the truth (a group in flight that did reach the
        disk is in it, one that did not is not); recover from it to go on."""
        if self.in_flight is not None:
            self.in_flight.exception()  # wait for it, whichever way it ends
            self.in_flight = None
        self.in_flight_results = []
        self.pending = []
        if self.writer is not None:
            self.writer.shutdown(wait=True)
        if self.journal is not None:
            self.journal.abandon()

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.shutdown(wait=True)
        if self.journal is not None:
            self.journal.close()


@dataclass(frozen=True, slots=True)
class Recovery:
    engine: MatchingEngine
    next_sequence: int
    snapshot_sequence: int  # 0 when recovery started from an empty engine
    replayed: int  # commands replayed from the journal after the snapshot
    torn_bytes: int  # the torn last record discarded, if any


def recover(directory: Path, base_prices: Mapping[str, int]) -> Recovery:
    """Rebuild the engine: the newest snapshot, then every journal record after it."""
    directory.mkdir(parents=True, exist_ok=True)
    torn_bytes = discard_torn_tail(directory)
    found = latest_snapshot(directory)
    if found is None:
        snapshot_sequence, engine = 0, MatchingEngine(base_prices)
    else:
        snapshot_sequence, engine = found
    last = snapshot_sequence
    for sequence, payload in read_journal(directory, after_sequence=snapshot_sequence):
        engine.handle(decode_command(payload))
        last = sequence
    return Recovery(engine, last + 1, snapshot_sequence, last - snapshot_sequence, torn_bytes)


def open_sequencer(
    directory: Path,
    base_prices: Mapping[str, int],
    publish: Publisher,
    *,
    policy: FsyncPolicy,
    group_commands_max: int = GROUP_COMMANDS_MAX,
) -> tuple[Sequencer, Recovery]:
    """Recover from `directory` and return a sequencer that continues its journal."""
    recovery = recover(directory, base_prices)
    journal = JournalWriter(directory, next_sequence=recovery.next_sequence, policy=policy)
    sequencer = Sequencer(
        recovery.engine,
        journal,
        publish,
        next_sequence=recovery.next_sequence,
        group_commands_max=group_commands_max,
    )
    return sequencer, recovery


def replay(
    directory: Path, base_prices: Mapping[str, int], *, engine: MatchingEngine | None = None
) -> Iterator[CommandResult]:
    """Every journaled command from the first, run again on a fresh engine, with its events. Pass
    the fresh `engine` to read its books once the replay is done (a reconciliation does)."""
    if engine is None:
        engine = MatchingEngine(base_prices)
    for sequence, payload in read_journal(directory):
        command = decode_command(payload)
        yield CommandResult(sequence, command, engine.handle(command))
