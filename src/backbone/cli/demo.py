"""`backbone demo`: demo data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from backbone.cli.context import console, container
from backbone.demo import seed as demo_seed

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
