"""The `backbone` command line, as a person runs it."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import SERVER_START_S_MAX, Installation, make_installation, serving
from tests.postgresql import free_port


def test_ledger_check_reports_zero_violations_on_the_demo_database(demo_installation: Installation) -> None:
    completed = demo_installation.run("ledger", "check")
    assert "0 violations" in completed.stdout
    assert "transfer_unbalanced" in completed.stdout


def test_seeding_twice_with_if_empty_does_nothing(demo_installation: Installation) -> None:
    completed = demo_installation.run("demo", "seed", "--if-empty")
    assert "already loaded" in completed.stdout
    refused = demo_installation.run("demo", "seed", check=False)
    assert refused.returncode == 1


def test_ledger_check_reports_a_database_corrupted_in_sql(tmp_path: object) -> None:
    installation = make_installation(tmp_path)  # type: ignore[arg-type]
    installation.run("db", "upgrade")
    installation.run("demo", "seed", "--seed", "3")
    with sqlite3.connect(installation.database_path) as connection:
        connection.execute(
            "UPDATE ledger_accounts SET balance = balance + 1 "
            "WHERE id = (SELECT id FROM ledger_accounts WHERE purpose = 'available' LIMIT 1)"
        )
    completed = installation.run("ledger", "check", check=False)
    assert completed.returncode == 1
    assert "balance_drift" in completed.stdout
    assert "2 violations" in completed.stdout  # the drift, and the asset no longer summing to zero


def test_db_current_says_whether_the_database_is_migrated(tmp_path: object) -> None:
    installation = make_installation(tmp_path)  # type: ignore[arg-type]
    assert installation.run("db", "current", check=False).returncode == 1
    installation.run("db", "upgrade")
    assert installation.run("db", "current").returncode == 0


def test_a_refusal_on_the_command_line_is_a_readable_line_not_a_traceback(tmp_path: object) -> None:
    installation = make_installation(tmp_path)  # type: ignore[arg-type]
    environment = {**installation.environment, "BACKBONE_DATABASE_URL": "mysql://nowhere"}
    completed = Installation(installation.directory, environment).run("db", "current", check=False)
    assert completed.returncode != 0
    assert "BACKBONE_DATABASE_URL" in completed.stderr + completed.stdout


def test_a_demo_day_trades_settles_and_leaves_the_ledger_whole(tmp_path: object) -> None:
    installation = make_installation(tmp_path)  # type: ignore[arg-type]
    completed = installation.run("demo", "day", "--seed", "11", "--start", "2026-11-23")
    output = completed.stdout
    assert "demo day 2026-11-23 (settled 2026-11-25)" in output
    assert "0 violations" in output
    executions = int(re.search(r"customer executions\s*│\s*([\d,]+)", output).group(1).replace(",", ""))  # type: ignore[union-attr]
    settled = int(re.search(r"settlements done\s*│\s*([\d,]+)", output).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert executions > 0
    assert settled == executions  # every fill of the day settled two trading days later


def test_serve_on_another_installation_s_journal_exits_with_one_line_naming_the_directory(
    tmp_path: Path,
) -> None:
    ours, theirs = (make_installation(tmp_path / name) for name in ("ours", "theirs"))
    for installation in (ours, theirs):
        installation.directory.mkdir()
        installation.run("db", "upgrade")
        with serving(installation):  # each database records the identity of its own journal
            pass
    journal = ours.directory / "exchange"
    shutil.rmtree(journal)
    shutil.copytree(theirs.directory / "exchange", journal)
    completed = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "backbone", "serve", "--port", str(free_port())],
        env=ours.environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=SERVER_START_S_MAX,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "Traceback" not in output
    (line,) = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert f"{journal}: this journal belongs to another installation" in line
    assert "(trading.journal_mismatch)" in line
