"""Concurrent requests: a retry racing its twin is applied once; racing spenders never overdraw."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from backbone.bootstrap import Container
from backbone.errors import BackboneError
from backbone.ledger.domain import CASH, Purpose
from tests.integration.test_ledger import balances, move, open_pair

RACERS = 8


def race(call: Callable[[], int]) -> list[int | BackboneError]:
    barrier = threading.Barrier(RACERS)

    def one() -> int | BackboneError:
        barrier.wait()
        try:
            return call()
        except BackboneError as error:
            return error

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(lambda _: one(), range(RACERS)))


def test_retries_racing_on_the_same_key_are_applied_once(container: Container) -> None:
    world, alice = open_pair(container)
    for round_number in range(3):
        racing_key = f"racing-{round_number}"
        results = race(lambda: move(container, world, alice, 1_000, racing_key))  # noqa: B023 - used at once
        assert all(isinstance(result, int) for result in results)
        assert len(set(results)) == 1, "every racer must be answered with the same transfer"
    assert balances(container, "alice")[CASH][Purpose.AVAILABLE] == 3_000


def test_racing_withdrawals_never_take_an_account_below_zero(container: Container) -> None:
    world, alice = open_pair(container)
    move(container, world, alice, 5_000, "fund")
    counter = iter(range(1000))
    results = race(lambda: move(container, alice, world, 1_000, f"spend-{next(counter)}"))
    succeeded = [result for result in results if isinstance(result, int)]
    assert len(succeeded) == 5
    assert balances(container, "alice")[CASH][Purpose.AVAILABLE] == 0
