"""Many requesters placing orders on one account at once never overspend its buying power."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backbone.bootstrap import Container
from backbone.brokerage.trading.desk import PlaceRequest
from backbone.brokerage.trading.domain import OrderRecord
from backbone.brokerage.trading.errors import InsufficientBuyingPower
from backbone.exchange.orders import Side
from backbone.kit.clock import SimulatedClock
from backbone.ledger.audit import audit
from tests import builders
from tests.trading import limit, open_market, trading

CLIENTS = 2
ORDERS_PER_CLIENT = 12
CASH = 1_000_000
ORDER_COST = 71_500 + 10  # one share at 71,500 and its commission (10 won: 10.7 cut below 10 won)


def test_two_clients_at_once_get_exactly_what_the_cash_covers(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=CASH)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        opened.pipeline.start()
        barrier = threading.Barrier(CLIENTS)

        def client(number: int) -> list[object]:
            barrier.wait()
            futures = [
                opened.pipeline.submit(
                    PlaceRequest(account.id, f"client-{number}-{index}", limit(Side.BUY, 1, 71_500))
                )
                for index in range(ORDERS_PER_CLIENT)
            ]
            return [future.result(timeout=60) for future in futures]

        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = [outcome for result in pool.map(client, range(CLIENTS)) for outcome in result]
        opened.pipeline.stop()
        with container.database.reading() as session:
            balance = container.holdings.balance(session, account)
            report = audit(session)
    accepted = [outcome for outcome in outcomes if isinstance(outcome, OrderRecord)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, InsufficientBuyingPower)]
    assert len(accepted) == CASH // ORDER_COST == 13
    assert len(refused) == CLIENTS * ORDERS_PER_CLIENT - 13
    assert balance.cash_held == 13 * ORDER_COST
    assert balance.cash_available == CASH - 13 * ORDER_COST >= 0
    assert report.ok, report.violations
