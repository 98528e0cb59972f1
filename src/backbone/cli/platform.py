"""`backbone platform`: the open platform's jobs."""

from __future__ import annotations

from typing import Annotated

import typer

from backbone.cli.context import console, container
from backbone.open_platform.webhooks.worker import run_once

app = typer.Typer(help="The open platform: webhook deliveries and consent expiry.", no_args_is_help=True)


@app.command()
def webhooks(
    once: Annotated[
        bool, typer.Option("--once", help="One run, then exit (the server runs it continuously)")
    ] = True,
) -> None:
    """Mark lapsed consents expired and deliver the webhooks that are due."""
    resolved = container()
    try:
        expired, attempted = run_once(resolved.open_platform, resolved.database)
    finally:
        resolved.close()
    console.print(f"{expired} consents marked expired; {attempted} deliveries attempted")
