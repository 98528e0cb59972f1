"""`backbone serve` with faults armed, for end-to-end fault tests only (not part of the product:
nothing in `backbone` can arm a fault from outside).

    python -m tests.e2e.fault_server --port PORT \
        --plan '[{"point": "booking.commit", "action": "kill", "skip": 30}]'

Each entry of the plan arms one point (`backbone.kit.faults.Point`) with an action:
- `kill`: the process dies there at once (SIGKILL), as with a power cut;
- `lock`: another connection takes SQLite's write lock and holds it `seconds`, while the pipeline
  goes on (so that its next statements wait past the busy timeout);
- `error`: a database error (`database is locked`) is raised there.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from typing import Any

import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from backbone.cli.serve import serve
from backbone.config import Settings
from backbone.kit import faults
from backbone.kit.faults import Action, Point


def lock_action(database: str, seconds: float) -> Action:
    def hold() -> None:
        held = threading.Event()

        def holder() -> None:
            connection = sqlite3.connect(database, isolation_level=None, timeout=30)
            connection.execute("BEGIN IMMEDIATE")
            held.set()
            threading.Event().wait(seconds)
            connection.execute("ROLLBACK")
            connection.close()

        threading.Thread(target=holder, name="fault-lock", daemon=True).start()
        held.wait(30)

    return hold


def error_action() -> Action:
    def fail() -> None:
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))

    return fail


def action_of(entry: dict[str, Any], database: str) -> Action:
    kind = entry["action"]
    if kind == "kill":
        return faults.kill_process
    if kind == "lock":
        return lock_action(database, float(entry["seconds"]))
    if kind == "error":
        return error_action()
    raise SystemExit(f"unknown fault action {kind!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--plan", required=True, help="JSON list of {point, action, skip, times, seconds}")
    arguments = parser.parse_args()
    database = str(make_url(Settings().database_url).database)
    for entry in orjson.loads(arguments.plan):
        faults.arm(
            Point(entry["point"]),
            action_of(entry, database),
            times=int(entry.get("times", 1)),
            skip=int(entry.get("skip", 0)),
        )
    serve(host=None, port=arguments.port, demo_market=False)


if __name__ == "__main__":
    main()
