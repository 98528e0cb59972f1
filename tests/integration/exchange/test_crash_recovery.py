"""Crash test: the engine process is killed with SIGKILL in mid-stream and restarted.

Every result the process published (wrote to stdout) must be in the journal exactly once and be
exactly what a replay of the journal produces; commands journaled but not yet published are whole
(replayed completely, never half); the restarted process continues the sequence, and its final
state equals a replay of the journal from the first record.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import IO, Any

import orjson
import pytest

from backbone.exchange.engine import MatchingEngine
from backbone.exchange.messages import Command, CommandResult
from backbone.exchange.phases import SessionPhase
from backbone.exchange.sequencer import recover, replay
from backbone.exchange.simulator import LiquiditySimulator
from backbone.exchange.snapshot import capture
from tests.unit.exchange.builders import T0, phase

BASE_PRICES = {"005930": 71_500, "000660": 180_000}  # as in the shipped instrument master
COMMANDS = 12_000


def client_lines(count: int) -> list[bytes]:
    """A deterministic order flow as a client sends it: JSON objects without timestamps."""
    engine = MatchingEngine(BASE_PRICES)
    simulator = LiquiditySimulator(BASE_PRICES, seed=5)
    commands: list[Command] = [phase(SessionPhase.PRE_OPEN_AUCTION), phase(SessionPhase.CONTINUOUS)]
    for command in commands:
        simulator.observe(CommandResult(0, command, engine.handle(command)))
    for _ in range(count):
        command = simulator.next_command(T0)
        simulator.observe(CommandResult(0, command, engine.handle(command)))
        commands.append(command)
    lines = []
    for command in commands:
        wire = command.to_wire()
        del wire["timestamp_ns"]
        lines.append(orjson.dumps(wire) + b"\n")
    return lines


def start(journal: Path, policy: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - this interpreter running our own module
        [
            sys.executable,
            "-m",
            "backbone.exchange.process",
            "--journal",
            str(journal),
            "--fsync",
            policy,
            "--instruments",
            ",".join(BASE_PRICES),
            "--snapshot-every",
            "3000",
            *extra,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def feed(pipe: IO[bytes], lines: list[bytes], *, close: bool) -> threading.Thread:
    def write() -> None:
        try:
            for line in lines:
                pipe.write(line)
            pipe.flush()
        except (BrokenPipeError, ValueError):
            pass  # the process was killed: the rest of the stream never arrives
        finally:
            if close:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def read_lines(pipe: IO[bytes]) -> list[dict[str, Any]]:
    """Every complete line; a line cut off by the kill never reached the client whole."""
    return [orjson.loads(line) for line in pipe if line.endswith(b"\n")]


@pytest.mark.parametrize(("policy", "kill_after"), [("group", 4_000), ("always", 800), ("none", 4_000)])
def test_published_results_survive_sigkill_exactly_once(tmp_path: Path, policy: str, kill_after: int) -> None:
    lines = client_lines(COMMANDS)

    # Run 1: stream everything, and kill the process once `kill_after` results are out.
    first = start(tmp_path, policy)
    assert first.stdin is not None
    assert first.stdout is not None
    feed(first.stdin, lines, close=True)
    published: list[dict[str, Any]] = []
    for line in first.stdout:
        published.append(orjson.loads(line))
        if len(published) == kill_after:
            os.kill(first.pid, signal.SIGKILL)
            break
    published.extend(read_lines(first.stdout))  # what left the process before it died
    first.wait(timeout=60)
    first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    assert [result["sequence"] for result in published] == list(range(1, len(published) + 1))
    assert len(published) < len(lines), "the kill must land mid-stream"

    journaled = sum(1 for _ in replay(tmp_path, BASE_PRICES))
    assert journaled >= len(published)  # published ⊆ journaled; the rest were whole, unpublished

    # Run 2: the client resends from its first unacknowledged command; then ends its input.
    second = start(tmp_path, policy, "--print-state")
    assert second.stdin is not None
    assert second.stdout is not None
    writer = feed(second.stdin, lines[len(published) :], close=True)
    after = read_lines(second.stdout)
    writer.join(timeout=60)
    second.wait(timeout=60)
    second.stdout.close()
    assert second.returncode == 0
    final_state = after.pop()["state"]
    assert [result["sequence"] for result in after] == list(range(journaled + 1, journaled + 1 + len(after)))
    assert len(after) == len(lines) - len(published)

    # The journal replayed from the first record gives every published result, exactly.
    replayed = {
        result.sequence: orjson.loads(orjson.dumps(result.to_wire()))
        for result in replay(tmp_path, BASE_PRICES)
    }
    assert len(replayed) == journaled + len(after)
    for result in published + after:
        assert replayed[result["sequence"]] == result

    # Each order took effect once: resent commands that had been journaled are refused as duplicates.
    accepted = Counter(
        event["order_id"]
        for result in replayed.values()
        for event in result["events"]
        if event["type"] == "order_accepted"
    )
    assert accepted
    assert max(accepted.values()) == 1

    # The restarted process ended in exactly the state a full replay reaches.
    assert final_state == orjson.loads(orjson.dumps(capture(recover(tmp_path, BASE_PRICES).engine)))
