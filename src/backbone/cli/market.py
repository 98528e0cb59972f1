"""`backbone market`: the exchange venue from the command line."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from backbone.cli.context import console, progress_bar
from backbone.exchange.engine import MatchingEngine
from backbone.exchange.instruments import load_instruments
from backbone.exchange.journal import FsyncPolicy
from backbone.exchange.market_data import Interval, MarketData
from backbone.exchange.messages import CommandResult
from backbone.exchange.schedule import SessionSchedule
from backbone.exchange.sequencer import Sequencer, open_sequencer, recover
from backbone.exchange.simulator import DEFAULT_DAY, LiquiditySimulator, first_trading_morning, simulate_day
from backbone.exchange.tuning import restore_garbage_collector, tune_garbage_collector
from backbone.kit.clock import SimulatedClock

app = typer.Typer(
    help="The exchange venue: matching engine, auctions, journal, market data.", no_args_is_help=True
)

DEFAULT_INSTRUMENTS = "005930,000660,035420,005380,051910"


@app.command()
def simulate(
    seed: Annotated[int, typer.Option(help="The same seed gives the same order flow and trades")] = 7,
    instruments: Annotated[str, typer.Option(help="Comma-separated instrument codes")] = DEFAULT_INSTRUMENTS,
    commands: Annotated[
        int, typer.Option(min=1, max=100_000_000, help="Order-flow commands to send")
    ] = 100_000,
    day: Annotated[
        str, typer.Option(help="The trading day to simulate (ISO date, KST)")
    ] = DEFAULT_DAY.isoformat(),
    journal: Annotated[
        Path | None,
        typer.Option(help="Journal directory: recover from it and journal the run (default: none)"),
    ] = None,
    fsync: Annotated[FsyncPolicy, typer.Option(help="Journal durability policy")] = FsyncPolicy.GROUP,
    group_commands: Annotated[int, typer.Option(min=1, max=4_096, help="Commands per group commit")] = 64,
) -> None:
    """Run seeded, reproducible order flow through the matching engine for one simulated trading day:
    pre-open call auction, continuous trading, closing call auction."""
    master = load_instruments()
    codes = [code.strip() for code in instruments.split(",") if code.strip()]
    unknown = [code for code in codes if code not in master]
    if unknown or not codes:
        raise typer.BadParameter(f"unknown instrument codes: {', '.join(unknown) or '(none given)'}")
    base_prices = {code: master[code].base_price for code in codes}
    market_data = MarketData(codes)
    trades = dict.fromkeys(codes, 0)

    def publish(results: list[CommandResult]) -> None:
        for result in results:
            for update in market_data.apply(result):
                if update.kind == "trade":
                    trades[update.instrument] += 1

    if journal is None:
        sequencer = Sequencer(MatchingEngine(base_prices), None, publish, group_commands_max=group_commands)
    else:
        sequencer, recovery = open_sequencer(
            journal,
            base_prices,
            publish,
            policy=fsync,
            group_commands_max=group_commands,
        )
        console.print(
            f"journal [bold]{journal}[/]: recovered {recovery.replayed:,} commands after snapshot "
            f"{recovery.snapshot_sequence:,}; next sequence {recovery.next_sequence:,}"
        )
    engine = sequencer.engine
    schedule = SessionSchedule()
    trading_day = date.fromisoformat(day)
    if engine.trading_day and date.fromisoformat(engine.trading_day) >= trading_day:
        trading_day = date.fromisoformat(engine.trading_day) + timedelta(days=1)
    # Yesterday's close becomes today's base price, for the engine and the flow alike.
    simulator = LiquiditySimulator(
        {
            code: book.last_price or book.base_price
            for code, book in engine.books.items()
            if code in base_prices
        },
        seed=seed,
        first_order_id=max(engine.orders, default=0) + 1,
    )
    clock = SimulatedClock(first_trading_morning(trading_day, schedule))
    started = time.perf_counter()
    tune_garbage_collector()
    try:
        with progress_bar(f"simulating {clock.now().date().isoformat()}") as progress:
            summary = simulate_day(
                sequencer,
                simulator,
                clock,
                commands=commands,
                schedule=schedule,
                progress=lambda done: progress(done, commands),
            )
    finally:
        restore_garbage_collector()  # the command may run inside a longer-lived process (tests)
        sequencer.close()
    elapsed = time.perf_counter() - started

    table = Table(title=f"simulated trading day {engine.trading_day} (seed {seed})")
    for column in ("code", "name", "open", "high", "low", "close", "volume", "trades"):
        table.add_column(column, justify="left" if column in {"code", "name"} else "right")
    for code in codes:
        candles = market_data.candles(code, Interval.DAY)
        today = candles[-1] if candles else None
        table.add_row(
            code,
            master[code].name_ko,
            *(f"{today[field]:,}" if today else "-" for field in ("open", "high", "low", "close", "volume")),
            f"{trades[code]:,}",
        )
    console.print(table)
    console.print(
        f"{summary.commands:,} order commands and {summary.phase_changes} phase changes in {elapsed:.1f} s "
        f"({summary.commands / elapsed:,.0f} commands/s with the simulator); "
        f"{summary.trades:,} trades, {summary.volume:,} shares, {summary.rejects:,} rejects; "
        f"last sequence {summary.last_sequence:,}"
    )


@app.command("recover")
def recover_journal(
    journal: Annotated[Path, typer.Option(help="Journal directory", exists=True, file_okay=False)],
    instruments: Annotated[
        str, typer.Option(help="Comma-separated codes the journal was started with (default: the master)")
    ] = "",
) -> None:
    """Rebuild the engine from a journal (newest snapshot, then the journal after it, a torn last
    frame cut off) and show where it stands."""
    master = load_instruments()
    codes = [code.strip() for code in instruments.split(",") if code.strip()] or list(master)
    recovery = recover(journal, {code: master[code].base_price for code in codes if code in master})
    engine = recovery.engine
    engine.check_invariants()
    console.print(
        f"snapshot at sequence {recovery.snapshot_sequence:,}; {recovery.replayed:,} commands replayed; "
        f"{recovery.torn_bytes} torn bytes discarded; next sequence {recovery.next_sequence:,}"
    )
    console.print(f"phase [bold]{engine.phase.value}[/] of trading day {engine.trading_day or '-'}")
    table = Table(title="books")
    for column in ("code", "base", "last", "bid", "ask", "resting"):
        table.add_column(column, justify="left" if column == "code" else "right")
    for code, book in engine.books.items():
        if book.resting_count or book.last_price:
            table.add_row(
                code,
                f"{book.base_price:,}",
                f"{book.last_price:,}" if book.last_price else "-",
                f"{engine.best_bid(code) or '-'}",
                f"{engine.best_ask(code) or '-'}",
                f"{book.resting_count:,}",
            )
    console.print(table)
