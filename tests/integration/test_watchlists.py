"""관심종목 groups on both databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from backbone.bootstrap import Container
from backbone.brokerage.errors import UnknownInstrument
from backbone.brokerage.watchlists import InvalidWatchlist, UnknownWatchlist, WatchlistNameTaken
from tests import builders


def test_groups_keep_their_order_and_their_instruments_order(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session)
        first = container.watchlists.create_group(
            session, account.customer_id, "반도체", ["000660", "005930"]
        )
        container.watchlists.create_group(session, account.customer_id, "금융", ["105560"])
        container.watchlists.replace_items(
            session, account.customer_id, first.id, ["005930", "000660", "042660"]
        )
    with container.database.reading() as session:
        groups = container.watchlists.groups(session, account.customer_id)
    assert [(group.name, group.instruments) for group in groups] == [
        ("반도체", ("005930", "000660", "042660")),
        ("금융", ("105560",)),
    ]


def test_bad_groups_are_refused_and_change_nothing(container: Container) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session)
        group = container.watchlists.create_group(session, account.customer_id, "관심", ["005930"])
    customer = account.customer_id
    watchlists = container.watchlists
    attempts: list[tuple[Callable[[Session], object], type[Exception]]] = [
        (lambda session: watchlists.create_group(session, customer, "관심"), WatchlistNameTaken),
        (lambda session: watchlists.create_group(session, customer, "  "), InvalidWatchlist),
        (
            lambda session: watchlists.replace_items(session, customer, group.id, ["999999"]),
            UnknownInstrument,
        ),
        (
            lambda session: watchlists.replace_items(session, customer, group.id, ["005930"] * 2),
            InvalidWatchlist,
        ),
        (lambda session: watchlists.replace_items(session, customer + 1, group.id, []), UnknownWatchlist),
    ]
    for attempt, error in attempts:
        with pytest.raises(error), container.database.transaction() as session:
            attempt(session)
    with container.database.reading() as session:
        assert [saved.instruments for saved in watchlists.groups(session, customer)] == [("005930",)]
