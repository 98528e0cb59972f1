"""Ledger transfers per second, on SQLite and on PostgreSQL, one per transaction and batched.

Durable settings throughout: SQLite with synchronous=FULL (as Backbone runs by default), and a
PostgreSQL cluster with fsync on. Each transfer is a cash movement between two of 1,000 funded
customer accounts, through `Ledger.transfer` (validation, idempotency check, row locks, floors,
legs, the sealing row and the database's own triggers).

Side by side, the "raw SQL floor": the same legs and sealing row written with the fewest possible
statements and no service logic, under the same triggers: the cost of the database alone, so the
difference is what the service adds.

    .venv/bin/python -m benchmarks.ledger_transfers \
        [--transfers 2000] [--batched 20000] [--batch 100] [--clients 8]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session
from tests.postgresql import Cluster

from backbone import bootstrap, schema
from backbone.bootstrap import Container
from backbone.config import Settings
from backbone.kit.clock import SystemClock
from backbone.ledger.domain import CASH, Kind, Leg, Purpose, Transfer, TransferRequest
from backbone.ledger.models import LegRow, TransferRow

ACCOUNTS = 1_000
FUNDING_WON = 10**12


@dataclass
class Figure:
    engine: str
    mode: str
    writer: str
    transfers: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds

    def row(self) -> str:
        ordered = sorted(self.latencies_ms)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{self.engine:<11} {self.mode:<34} {self.writer:<14} {self.transfers:>8,} "
            f"{self.per_second:>12,.0f} {p50:>9.2f} {p99:>9.2f}"
        )


@contextmanager
def sqlite_container(directory: Path) -> Iterator[Container]:
    settings = Settings(database_url=f"sqlite:///{directory / 'bench.sqlite3'}", var_directory=directory)
    container = bootstrap.build(settings, clock=SystemClock())
    prepare(container)
    try:
        yield container
    finally:
        container.close()


@contextmanager
def postgresql_container(directory: Path) -> Iterator[Container]:
    with Cluster(durable=True) as cluster:
        url = cluster.create_database("bench")
        container = bootstrap.build(Settings(database_url=url, var_directory=directory), clock=SystemClock())
        prepare(container)
        try:
            yield container
        finally:
            container.close()


def prepare(container: Container) -> None:
    schema.upgrade(container.database.engine)
    with container.database.transaction() as session:
        bootstrap.sync_reference_data(session, container)


def open_accounts(container: Container) -> list[int]:
    with container.database.transaction() as session:
        bank = container.ledger.account(
            session, owner="bank", asset=CASH, purpose=Purpose.BANK, minimum_balance=None
        )
        accounts = []
        for index in range(ACCOUNTS):
            account = container.ledger.account(
                session, owner=f"bench:{index}", asset=CASH, purpose=Purpose.AVAILABLE
            )
            container.ledger.transfer(
                session,
                TransferRequest(
                    idempotency_key=f"fund-{index}",
                    kind=Kind.DEPOSIT,
                    legs=(Leg(bank.id, CASH, -FUNDING_WON), Leg(account.id, CASH, FUNDING_WON)),
                ),
            )
            accounts.append(account.id)
    return accounts


Writer = Callable[[Session, str, int, int], None]


def service_writer(container: Container) -> Writer:
    def write(session: Session, key: str, source: int, target: int) -> None:
        container.ledger.transfer(
            session,
            TransferRequest(
                idempotency_key=key,
                kind=Kind.TRANSFER,
                legs=(Leg(source, CASH, -1_000), Leg(target, CASH, 1_000)),
            ),
        )

    return write


def raw_writer(container: Container) -> Writer:
    insert_legs = insert(cast(Table, LegRow.__table__))
    insert_transfer = insert(cast(Table, TransferRow.__table__))

    def write(session: Session, key: str, source: int, target: int) -> None:
        transfer_id = container.ids.next()
        connection = session.connection()
        connection.execute(
            insert_legs,
            [
                {
                    "transfer_id": transfer_id,
                    "position": 0,
                    "account_id": source,
                    "asset": CASH,
                    "amount": -1_000,
                },
                {
                    "transfer_id": transfer_id,
                    "position": 1,
                    "account_id": target,
                    "asset": CASH,
                    "amount": 1_000,
                },
            ],
        )
        connection.execute(
            insert_transfer,
            {
                "id": transfer_id,
                "idempotency_key": key,
                "fingerprint": "-",
                "kind": "transfer",
                "memo": "",
                "occurred_at": container.clock.now(),
            },
        )

    return write


def measure(
    container: Container,
    engine: str,
    writer_name: str,
    writer: Writer,
    accounts: list[int],
    count: int,
    batch: int,
) -> Figure:
    generator = random.Random(7)
    latencies: list[float] = []
    started = time.perf_counter()
    done = 0
    while done < count:
        size = min(batch, count - done)
        began = time.perf_counter()
        with container.database.transaction() as session:
            for _ in range(size):
                source, target = generator.sample(accounts, 2)
                writer(session, f"{engine}-{writer_name}-{batch}-{done}", source, target)
                done += 1
        latencies.append((time.perf_counter() - began) * 1000)
    elapsed = time.perf_counter() - started
    mode = "one per transaction" if batch == 1 else f"batched, {batch} per transaction"
    return Figure(engine, mode, writer_name, count, elapsed, latencies)


def measure_concurrent(
    container: Container, engine: str, accounts: list[int], count: int, clients: int
) -> Figure:
    """`clients` threads, each with its own connection, one transfer per transaction, each
    thread moving money among its own slice of accounts (so they contend for the database, not
    for the same rows)."""
    writer = service_writer(container)
    share = len(accounts) // clients
    per_client = count // clients

    def client(number: int) -> list[float]:
        generator = random.Random(number)
        mine = accounts[number * share : (number + 1) * share]
        latencies = []
        for index in range(per_client):
            began = time.perf_counter()
            with container.database.transaction() as session:
                source, target = generator.sample(mine, 2)
                writer(session, f"{engine}-concurrent-{number}-{index}", source, target)
            latencies.append((time.perf_counter() - began) * 1000)
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    latencies = [value for result in results for value in result]
    return Figure(engine, f"{clients} concurrent clients", "service", len(latencies), elapsed, latencies)


def measure_many(container: Container, engine: str, accounts: list[int], count: int, batch: int) -> Figure:
    """Batched through `Ledger.transfer_many`: one lock query, one key lookup and one insert per
    table for the whole batch."""
    generator = random.Random(7)
    latencies: list[float] = []
    started = time.perf_counter()
    done = 0
    while done < count:
        size = min(batch, count - done)
        requests = []
        for offset in range(size):
            source, target = generator.sample(accounts, 2)
            requests.append(
                TransferRequest(
                    idempotency_key=f"{engine}-many-{done + offset}",
                    kind=Kind.TRANSFER,
                    legs=(Leg(source, CASH, -1_000), Leg(target, CASH, 1_000)),
                )
            )
        began = time.perf_counter()
        with container.database.transaction() as session:
            outcomes = container.ledger.transfer_many(session, requests)
        latencies.append((time.perf_counter() - began) * 1000)
        if any(not isinstance(outcome, Transfer) for outcome in outcomes):
            raise RuntimeError("a benchmark transfer was refused")
        done += size
    elapsed = time.perf_counter() - started
    return Figure(engine, f"transfer_many, {batch} per transaction", "service", count, elapsed, latencies)


def run(engine: str, container: Container, arguments: argparse.Namespace) -> list[Figure]:
    accounts = open_accounts(container)
    figures = []
    for writer_name, writer in (
        ("service", service_writer(container)),
        ("raw SQL floor", raw_writer(container)),
    ):
        figures.append(measure(container, engine, writer_name, writer, accounts, arguments.transfers, 1))
        figures.append(
            measure(container, engine, writer_name, writer, accounts, arguments.batched, arguments.batch)
        )
    figures.append(measure_many(container, engine, accounts, arguments.batched, arguments.batch))
    figures.append(measure_concurrent(container, engine, accounts, arguments.transfers, arguments.clients))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transfers", type=int, default=2_000, help="one-per-transaction transfers")
    parser.add_argument("--batched", type=int, default=20_000, help="batched transfers")
    parser.add_argument("--batch", type=int, default=100, help="transfers per batched transaction")
    parser.add_argument("--clients", type=int, default=8, help="threads for the concurrent figure")
    arguments = parser.parse_args()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as directory:
        with sqlite_container(Path(directory)) as container:
            figures += run("SQLite", container, arguments)
        with postgresql_container(Path(directory)) as container:
            figures += run("PostgreSQL", container, arguments)
    header = ("engine", "mode", "writer", "transfers", "transfers/s", "p50 ms", "p99 ms")
    print("{:<11} {:<34} {:<14} {:>8} {:>12} {:>9} {:>9}".format(*header))
    for figure in figures:
        print(figure.row())
    print("latency is per transaction (one transfer, or one batch)")


if __name__ == "__main__":
    main()
