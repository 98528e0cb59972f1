"""Faults inside a real `backbone serve` under load from 16 clients over HTTP, then a restart.

1. The case as it was found: another connection holds SQLite's write lock past the busy timeout
   at the moment a batch has been journaled but not yet booked, while clients keep placing and
   cancelling. The pipeline retries, pauses orders (503 with Retry-After, `/readyz` not ready),
   resumes once the lock is gone; after a restart every order the venue accepted is booked.
2. SIGKILL between two steps of the pipeline (after the engine ran but
   before the journal, between the journal and the booking, after the booking but before the
   answer): the server starts again and its books agree with the venue's journal.
After each: `backbone orders check` and `backbone ledger check` report nothing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import OPERATOR_TOKEN
from tests.e2e.conftest import Installation, Server, make_installation, serving
from tests.e2e.members import Member

CLIENTS = 16
MEMBERS = 4
LOAD_S_MAX = 40
MONDAY_MORNING = "2026-11-23T08:00:00+09:00"
RESTART_MONDAY_NOON = "2026-11-23T12:00:00+09:00"
FAULT_SERVER = ["-m", "tests.e2e.fault_server"]
SERVER = ["-m", "backbone", "serve"]


@pytest.fixture
def installation(tmp_path: Path) -> Installation:
    made = make_installation(tmp_path)
    made.environment.update(
        {
            "BACKBONE_SIMULATED_CLOCK_START": MONDAY_MORNING,
            "BACKBONE_COOKIE_SECURE": "false",
            "BACKBONE_LOG_LEVEL": "WARNING",
            "BACKBONE_SQLITE_BUSY_TIMEOUT_MS": "300",
        }
    )
    made.run("db", "upgrade")
    return made


@dataclass
class Trader:
    member: Member
    account_id: int


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[tuple[int, str]] = field(default_factory=Counter)
    pending: list[tuple[int, int]] = field(default_factory=list)  # (account, order) outcome pending
    transport_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, account_id: int, response: httpx.Response) -> None:
        body = response.json() if response.content else {}
        code = str(body.get("code", body.get("status", ""))) if isinstance(body, dict) else ""
        with self.lock:
            self.statuses[(response.status_code, code)] += 1
            if code == "order.outcome_pending":
                self.pending.append((account_id, body["order_id"]))


@contextmanager
def open_market(server: Server) -> Iterator[list[Trader]]:
    """`open_the_market`, the members' connections closed after."""
    traders = open_the_market(server)
    try:
        yield traders
    finally:
        for trader in traders:
            trader.member.close()


def open_the_market(server: Server) -> list[Trader]:
    """A firm, members each with an account holding cash and shares, the clock at 09:00."""
    operator = httpx.Client(
        base_url=f"{server.url}/api/backoffice/v1",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        timeout=30,
    )
    firm = {
        "code": "FLT",
        "name_ko": "장애증권",
        "name_en": "Fault Securities",
        "account_number_pattern": "BBB-PP-NNNNNC",
        "branch": 7,
        "commission_ppm": 150,
    }
    assert operator.post("/firms", json=firm).status_code == 201
    traders = []
    for number in range(MEMBERS):
        member = Member(
            server.url,
            name=f"부하{number}",
            birth_date=date(1980, 1, 1 + number),
            phone=f"010-7000-{number:04d}",
        )
        member.sign_up()
        customer = operator.post(
            "/firms/FLT/customers",
            json={
                "name": member.name,
                "birth_date": member.birth_date.isoformat(),
                "phone": member.phone,
                "personal_identifier": member.personal_identifier,
            },
        ).json()
        account = operator.post(f"/firms/FLT/customers/{customer['id']}/accounts", json={}).json()
        deposit = operator.post(
            f"/firms/FLT/accounts/{account['number']}/deposits",
            json={"amount_won": 500_000_000},
            headers={"Idempotency-Key": f"cash-{number}"},
        )
        assert deposit.status_code == 201, deposit.text
        delivered = operator.post(
            f"/firms/FLT/accounts/{account['number']}/securities-in",
            json={"instrument": "005930", "quantity": 5_000, "unit_cost_won": 70_000},
            headers={"Idempotency-Key": f"shares-{number}"},
        )
        assert delivered.status_code == 201, delivered.text
        (listed,) = member.get("/api/v1/brokerage/accounts").json()
        traders.append(Trader(member, listed["id"]))
    advanced = operator.post("/clock/advance", json={"seconds": 3_600})
    assert advanced.json()["phase"] == "continuous"
    for trader in traders:
        trader.member.log_in()
    operator.close()
    return traders


def trade(trader: Trader, client: int, tally: Tally, stop: threading.Event) -> None:
    """Place buys and sells at 71,500 (most of them trade), and cancel now and then."""
    count = 0
    last_open: int | None = None
    orders = f"/api/v1/brokerage/accounts/{trader.account_id}/orders"
    while not stop.is_set():
        count += 1
        side = "buy" if (count + client) % 2 else "sell"
        price = 71_500 if count % 3 else 71_000 if side == "buy" else 72_000
        try:
            if count % 5 == 0 and last_open is not None:
                response = trader.member.post(f"{orders}/{last_open}/cancel")
                last_open = None
            else:
                body = {"instrument": "005930", "side": side, "price": price, "quantity": 1 + count % 3}
                response = trader.member.post(orders, body, headers={"Idempotency-Key": f"c{client}-{count}"})
                if response.status_code == 201 and response.json()["status"] == "accepted":
                    last_open = response.json()["id"]
        except httpx.TransportError:
            with tally.lock:
                tally.transport_errors += 1
            if stop.wait(0.2):
                return
            continue
        tally.record(trader.account_id, response)
        if response.status_code == 503:
            stop.wait(0.2)


def load(traders: list[Trader], tally: Tally, until: threading.Event) -> None:
    """CLIENTS clients until `until` is set (or LOAD_S_MAX)."""
    threads = [
        threading.Thread(target=trade, args=(traders[client % MEMBERS], client, tally, until), daemon=True)
        for client in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    until.wait(LOAD_S_MAX)
    until.set()
    for thread in threads:
        thread.join(timeout=60)


def assert_the_books_agree(installation: Installation) -> None:
    # The restarted server's simulated clock starts past every moment the first one used: ids are
    # time-ordered, and a clock that started again at 08:00 would hand out the first one's ids.
    later = {**installation.environment, "BACKBONE_SIMULATED_CLOCK_START": RESTART_MONDAY_NOON}
    restarted = Installation(installation.directory, later)
    with serving(restarted, SERVER) as server:  # it starts: no dead end at start-up
        assert httpx.get(f"{server.url}/readyz").status_code == 200
    orders = installation.run("orders", "check", check=False)
    assert orders.returncode == 0, orders.stdout + orders.stderr
    ledger = installation.run("ledger", "check", check=False)
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr


def plan(*entries: dict[str, object]) -> list[str]:
    return [*FAULT_SERVER, "--plan", orjson.dumps(list(entries)).decode()]


def test_a_write_lock_past_the_busy_timeout_between_journal_and_booking_then_a_restart(
    installation: Installation,
) -> None:
    lock = {"point": "venue.execute", "action": "lock", "seconds": 14, "skip": 60}
    tally = Tally()
    readiness: Counter[int] = Counter()
    with serving(installation, plan(lock)) as server, open_market(server) as traders:
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.25):
                readiness[httpx.get(f"{server.url}/readyz", timeout=10).status_code] += 1

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        def enough() -> None:
            # Until the pause is over and orders have gone through again for a while.
            deadline = time.monotonic() + LOAD_S_MAX
            while time.monotonic() < deadline and not stop.is_set():
                paused = tally.statuses[(503, "order.orders_paused")]
                if paused and readiness[200] > 4 and tally.statuses[(201, "filled")] > 100:
                    time.sleep(2)
                    break
                time.sleep(0.2)
            stop.set()

        threading.Thread(target=enough, daemon=True).start()
        load(traders, tally, stop)
        watcher.join(timeout=15)
        for account_id, order_id in tally.pending:
            trader = next(trader for trader in traders if trader.account_id == account_id)
            order = trader.member.get(f"/api/v1/brokerage/accounts/{account_id}/orders/{order_id}").json()
            assert order["status"] != "new", order
    assert tally.pending, tally.statuses  # the lock struck a batch between its journal and its booking
    assert tally.statuses[(503, "order.orders_paused")], tally.statuses
    assert readiness[503], readiness
    assert readiness[200], readiness
    assert not [status for status, _ in tally.statuses if status >= 500 and status != 503], tally.statuses
    assert_the_books_agree(installation)


@pytest.mark.parametrize("point", ["journal.write", "booking.commit", "booked"])
def test_a_kill_between_two_steps_of_the_pipeline_under_load_loses_nothing(
    installation: Installation, point: str
) -> None:
    tally = Tally()
    with (
        serving(installation, plan({"point": point, "action": "kill", "skip": 40})) as server,
        open_market(server) as traders,
    ):
        stop = threading.Event()
        assert server.process is not None

        def until_dead() -> None:
            assert server.process is not None
            server.process.wait(timeout=LOAD_S_MAX)
            stop.set()

        threading.Thread(target=until_dead, daemon=True).start()
        load(traders, tally, stop)
        assert server.process.poll() is not None, "the fault never struck"
        assert server.process.returncode == -9
    assert tally.statuses[(201, "filled")] + tally.statuses[(201, "accepted")] > 0
    assert_the_books_agree(installation)
