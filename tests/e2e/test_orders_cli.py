"""`backbone orders check` and `backbone orders reconcile`, as an operator runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from backbone.exchange.journal_lock import lock_journal
from tests.e2e.conftest import Installation, make_installation


def test_orders_check_finds_nothing_to_disagree_on_in_the_seeded_demo(
    demo_installation: Installation,
) -> None:
    completed = demo_installation.run("orders", "check")
    assert "0 differences" in completed.stdout


def _demo_day(directory: Path) -> Installation:
    """A demo day kept in `directory`, and the environment that points `backbone` at it."""
    make_installation(directory).run(
        "demo", "day", "--seed", "5", "--start", "2026-11-23", "--directory", str(directory)
    )
    installation = make_installation(directory)
    url = f"sqlite:///{directory / 'day.sqlite3'}"
    return Installation(directory, {**installation.environment, "BACKBONE_DATABASE_URL": url})


def test_orders_check_reports_a_demo_day_corrupted_in_sql_and_reconcile_repairs_the_cursor(
    tmp_path: Path,
) -> None:
    installation = _demo_day(tmp_path)
    clean = installation.run("orders", "check")
    assert "0 differences" in clean.stdout
    with sqlite3.connect(tmp_path / "day.sqlite3") as connection:
        (order_id,) = connection.execute(
            "SELECT id FROM brokerage_orders WHERE status = 'filled' ORDER BY id LIMIT 1"
        ).fetchone()
        connection.execute(
            "UPDATE brokerage_orders SET filled_quantity = filled_quantity - 1, "
            "cancelled_quantity = cancelled_quantity + 1 WHERE id = ?",
            (order_id,),
        )
        connection.execute("UPDATE brokerage_venue_cursor SET booked_sequence = booked_sequence - 3")
    corrupted = installation.run("orders", "check", check=False)
    assert corrupted.returncode == 1
    assert "order.filled_differs" in corrupted.stdout
    assert str(order_id) in corrupted.stdout
    assert "cursor.behind_journal" in corrupted.stdout
    assert "2 differences" in corrupted.stdout
    lock = lock_journal(tmp_path / "exchange")  # as a running server holds it
    try:
        refused = installation.run("orders", "reconcile", check=False)
    finally:
        lock.release()
    assert refused.returncode == 2
    assert "journal is in use" in refused.stderr
    repaired = installation.run("orders", "reconcile", check=False)
    assert repaired.returncode == 1  # the row changed by hand is left to the operator
    assert "to do" in repaired.stdout
    after = installation.run("orders", "check", check=False)
    assert "order.filled_differs" in after.stdout
    assert "cursor.behind_journal" not in after.stdout
    assert "1 difference" in after.stdout
