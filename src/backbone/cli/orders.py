"""`backbone orders`: the brokerage's orders against the venue's journal: a check, and a repair of
what the journal can repair (docs/trading.md, "Reconciling the brokerage with the venue")."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from backbone import bootstrap
from backbone.brokerage.trading.reconciliation import (
    OrdersCheckReport,
    ReconcileReport,
    check_orders,
    reconcile_orders,
)
from backbone.cli.context import console, container, progress_bar
from backbone.errors import Conflict
from backbone.kit import nodes

app = typer.Typer(help="The brokerage's orders against the venue's journal.", no_args_is_help=True)

DIFFERENCES_SHOWN_MAX = 50
REPLAYING = "replaying the venue's journal"


@app.command()
def check() -> None:
    """Compare every order, execution, hold, resting order and the booked cursor with the venue's
    journal (read only, beside a running server too); exit 1 on any difference."""
    resolved = container()
    with resolved.database.reading() as session, progress_bar(REPLAYING) as progress:
        report = check_orders(
            session,
            journal_directory=bootstrap.journal_directory_of(resolved.settings),
            base_prices=bootstrap.base_prices_of(resolved),
            progress=progress,
        )
    _print_check(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def reconcile(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be booked and what not; change nothing")
    ] = False,
) -> None:
    """Book from the venue's journal what the brokerage lacks, then check again; exit 1 while a
    difference is left that needs an operator. Refused while a server holds the venue's journal."""
    resolved = container()
    venue = bootstrap.open_venue(resolved)  # refused (JournalInUse) while `backbone serve` runs
    node = nodes.claim(resolved.settings.var_directory, resolved.settings.node_id)
    try:
        if node is None:  # a booking writes ids: no live process may share its node
            raise Conflict(
                f"node {resolved.settings.node_id} is held by another live process of this installation "
                f"(var/nodes/{resolved.settings.node_id}.lock): stop it, or set BACKBONE_NODE_ID"
            )
        with progress_bar(REPLAYING) as progress:
            report = reconcile_orders(
                resolved.database,
                bootstrap.order_desk(resolved, venue),
                journal_directory=venue.journal_directory,
                base_prices=venue.base_prices,
                dry_run=dry_run,
                progress=progress,
            )
    finally:
        if node is not None:
            node.release()
        venue.close()
    _print_reconcile(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_check(report: OrdersCheckReport) -> None:
    if report.differences:
        _print_differences(report)
    console.print(
        f"{report.orders_checked:,} orders, {report.venue_orders:,} of them at the venue, "
        f"{report.holds_checked:,} holds, {report.resting_checked:,} resting orders checked; "
        f"the journal ends at {report.journal_sequence:,}, booked to {report.booked_sequence:,}"
    )
    if report.orders_undelivered:
        console.print(
            f"{len(report.orders_undelivered):,} orders never reached the venue (still new): "
            "the next start rejects them and gives their holds back"
        )
    if report.ok:
        console.print("[bold green]0 differences[/]")
    else:
        console.print(f"[bold red]{_differences(report.difference_count)}[/]")


def _print_differences(report: OrdersCheckReport) -> None:
    table = Table(title="orders check")
    for column in ("difference", "order", "sequence", "the venue says", "the brokerage says"):
        table.add_column(column, no_wrap=column == "difference")
    for difference in report.differences[:DIFFERENCES_SHOWN_MAX]:
        table.add_row(
            f"[red]{difference.code}[/]",
            "" if difference.order_id is None else str(difference.order_id),
            "" if difference.sequence is None else f"{difference.sequence:,}",
            difference.expected,
            difference.found,
        )
    console.print(table)
    hidden = report.difference_count - min(len(report.differences), DIFFERENCES_SHOWN_MAX)
    if hidden:
        console.print(f"… and {hidden:,} more")


def _print_reconcile(report: ReconcileReport) -> None:
    would = "would be " if report.dry_run else ""
    table = Table(title="orders reconcile" + (" (dry run: nothing changed)" if report.dry_run else ""))
    table.add_column("what")
    table.add_column("", justify="right")
    table.add_row("differences found", f"{report.before.difference_count:,}")
    table.add_row(f"orders {would}booked from the journal", _ids(report.caught_up))
    table.add_row(f"orders rejected as not delivered {would}revived", _ids(report.revived))
    if not report.dry_run:
        table.add_row("results booked", f"{report.results_booked:,}")
    table.add_row("booked cursor", f"{report.cursor_before:,} → {report.cursor_after:,}")
    console.print(table)
    for irreparable in report.irreparable[:DIFFERENCES_SHOWN_MAX]:
        console.print(f"[red]{irreparable.difference.code}[/] {irreparable.difference.message}")
        console.print(f"  [bold]to do[/]: {irreparable.action}")
    if report.ok:
        console.print(f"[bold green]0 differences {would}left[/]")
    else:
        console.print(f"[bold red]{_differences(len(report.irreparable))} for an operator[/]")


def _ids(order_ids: list[int]) -> str:
    shown = ", ".join(str(order_id) for order_id in order_ids[:5])
    more = f" and {len(order_ids) - 5:,} more" if len(order_ids) > 5 else ""
    return f"{len(order_ids):,}" + (f" ({shown}{more})" if order_ids else "")


def _differences(count: int) -> str:
    return f"{count:,} difference" + ("" if count == 1 else "s")
