"""`backbone db`: migrations and reference data."""

from __future__ import annotations

import typer

from backbone import bootstrap, schema
from backbone.cli.context import console, container

app = typer.Typer(help="The database: migrate it and show where it stands.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Migrate the database to the latest revision and load the instrument master."""
    resolved = container()
    schema.upgrade(resolved.database.engine)
    with resolved.database.transaction() as session:
        assets = bootstrap.sync_reference_data(session, resolved)
    with resolved.database.transaction() as session:  # first run: the certificate authority's root
        resolved.identity.authority.root(session)
    current, _head = schema.revisions(resolved.database.engine)
    url = resolved.database.engine.url.render_as_string(hide_password=True)
    console.print(f"database [bold]{url}[/] at revision [bold]{current}[/]; {assets} assets in the ledger")


@app.command()
def current() -> None:
    """Print the database's revision and the code's."""
    resolved = container()
    current_revision, head = schema.revisions(resolved.database.engine)
    console.print(f"database: {current_revision}  code: {head}")
    if current_revision != head:
        raise typer.Exit(1)
