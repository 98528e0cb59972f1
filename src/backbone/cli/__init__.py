"""The `backbone` command line (Typer). Each group lives in its own module."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from backbone.cli import database, demo, identity, ledger, market, orders, outbox, platform, serve
from backbone.errors import BackboneError

app = typer.Typer(
    name="backbone",
    help="Backbone: a self-hostable capital-markets backbone.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("serve-open-api")(serve.serve_open_api)
app.add_typer(database.app, name="db")
app.add_typer(demo.app, name="demo")
app.add_typer(ledger.app, name="ledger")
app.add_typer(market.app, name="market")
app.add_typer(orders.app, name="orders")
app.add_typer(identity.app, name="identity")
app.add_typer(outbox.app, name="outbox")
app.add_typer(platform.app, name="platform")


def main() -> None:
    try:
        app()
    except BackboneError as error:
        # One line however long (a path in the detail), and the detail is text, never markup.
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]error[/]: {escape(error.title)}: {escape(error.detail)} [dim]({error.code})[/]"
        )
        sys.exit(2)
