"""`backbone ledger`: verify the ledger."""

from __future__ import annotations

import typer
from rich.table import Table

from backbone.cli.context import console, container, progress_bar
from backbone.ledger.audit import audit

app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)


@app.command()
def check() -> None:
    """Verify every ledger invariant over the whole database; exit 1 if any is broken."""
    resolved = container()
    with resolved.database.reading() as session, progress_bar("checking transfers") as progress:
        report = audit(session, progress=progress)
    summary = Table(title="ledger check")
    summary.add_column("rule")
    summary.add_column("violations", justify="right")
    for rule, count in report.counts().items():
        summary.add_row(rule.value, f"[red]{count}[/]" if count else "0")
    console.print(summary)
    console.print(
        f"{report.transfers_checked:,} transfers, {report.accounts_checked:,} accounts, "
        f"{report.holds_checked:,} holds checked"
    )
    if report.ok:
        console.print("[bold green]0 violations[/]")
        return
    for violation in report.violations[:50]:
        console.print(f"[red]{violation.rule.value}[/] {violation.subject}: {violation.detail}")
    console.print(f"[bold red]{report.violation_count} violations[/]")
    raise typer.Exit(1)
