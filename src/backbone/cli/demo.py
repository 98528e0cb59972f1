"""`backbone demo`: demo data."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from backbone import bootstrap
from backbone.cli.context import console, container
from backbone.config import Settings
from backbone.demo import day as demo_day
from backbone.demo import seed as demo_seed
from backbone.kit.clock import SEOUL, SimulatedClock
from backbone.kit.logs import configure_logging

app = typer.Typer(help="Demo data for trying Backbone out.", no_args_is_help=True)


@app.command()
def seed(
    seed_value: Annotated[int, typer.Option("--seed", help="The same seed gives the same demo world")] = (
        demo_seed.DEFAULT_SEED
    ),
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if the demo is already loaded")
    ] = False,
) -> None:
    """Create demo firms, customers, accounts, deposits and holdings."""
    resolved = container()
    with resolved.database.transaction() as session:
        if demo_seed.is_seeded(session, resolved):
            if if_empty:
                console.print("demo data already loaded; nothing to do")
                return
            console.print("[red]demo data is already loaded[/]; use a fresh database to seed again")
            raise typer.Exit(1)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("seeding people", total=demo_seed.PEOPLE_COUNT)
            summary = demo_seed.seed(
                session,
                resolved,
                seed_value=seed_value,
                progress=lambda done, _total: progress.update(task, completed=done),
            )
    table = Table(title=f"demo world (seed {seed_value})")
    for column in ("firms", "customers", "accounts", "deposited (won)", "holdings"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.firms),
        str(summary.customers),
        str(summary.accounts),
        f"{summary.deposits_won:,}",
        str(summary.holdings),
    )
    console.print(table)
    console.print(
        f"open platform demo app: client_id [bold]{summary.demo_client_id}[/], "
        f"client_secret [bold]{summary.demo_client_secret}[/] (shown once), redirect URI "
        f"{demo_seed.DEMO_REDIRECT_URI}"
    )


@app.command()
def day(
    seed_value: Annotated[
        int, typer.Option("--seed", help="The same seed gives the same day")
    ] = demo_seed.DEFAULT_SEED,
    start: Annotated[
        str | None, typer.Option(help="The trading day (YYYY-MM-DD); default: the next one from today")
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(help="Keep the day's database and journal here (default: a temporary directory)"),
    ] = None,
) -> None:
    """Run a whole simulated trading day: auctions, continuous trading, the close, T+2 settlement."""
    today = datetime.now(SEOUL).date()
    trading_day = demo_day.first_trading_day(date.fromisoformat(start) if start else today)
    with tempfile.TemporaryDirectory(prefix="backbone-day-") as temporary:
        place = directory or Path(temporary)
        place.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            database_url=f"sqlite:///{place / 'day.sqlite3'}",
            var_directory=place,
            sqlite_synchronous="NORMAL",
            journal_fsync="none",
        )
        configure_logging(level="WARNING", json=False)
        clock = SimulatedClock(datetime.combine(trading_day, time(8, 0), tzinfo=SEOUL))
        container = bootstrap.build(settings, clock=clock)
        try:
            with console.status("preparing the demo world"):
                demo_day.prepare(container)
            trading = bootstrap.open_trading(container, journal_directory=place / "exchange")
            try:
                with Progress(console=console, transient=True) as progress:
                    task = progress.add_task(f"trading {trading_day} (simulated minutes)", total=None)
                    summary = demo_day.run_day(
                        container,
                        trading,
                        seed=seed_value,
                        progress=lambda done, total: progress.update(task, completed=done, total=total),
                    )
            finally:
                trading.close()
        finally:
            container.close()
    _print_day(summary, place if directory else None)
    if summary.ledger_violations or summary.order_differences:
        raise typer.Exit(1)


def _print_day(summary: demo_day.DaySummary, kept: Path | None) -> None:
    table = Table(title=f"demo day {summary.trading_day} (settled {summary.settlement_day})")
    table.add_column("what")
    table.add_column("", justify="right")
    rows = [
        ("simulator commands", f"{summary.simulator_commands:,}"),
        ("customer orders", f"{summary.customer_orders:,}"),
        ("customer cancels", f"{summary.customer_cancels:,}"),
        ("trades on the venue", f"{summary.trades:,}"),
        ("volume (shares)", f"{summary.volume_shares:,}"),
        ("customer executions", f"{summary.customer_executions:,}"),
        ("customer value traded (won)", f"{summary.customer_value_won:,}"),
        ("commission (won)", f"{summary.commission_won:,}"),
        ("transaction tax (won)", f"{summary.tax_won:,}"),
        ("settlements done", f"{summary.settled:,}"),
        (
            "ledger check",
            f"{summary.ledger_violations} violations in {summary.transfers_checked:,} transfers",
        ),
        (
            "orders check",
            f"{len(summary.order_differences)} differences in {summary.orders_checked:,} orders",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for message in summary.order_differences:
        console.print(f"[bold red]the brokerage disagrees with the venue[/]: {message}")
    if kept is not None:
        console.print(f"the day's database and journal are in {kept}")
