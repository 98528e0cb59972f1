"""관심종목: a customer's named groups of instruments, in the customer's order.

Watchlists belong to the customer at a firm (as a firm's HTS keeps them), so every account of
the customer shows the same groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from backbone.brokerage.errors import BrokerageError, UnknownInstrument
from backbone.brokerage.models import WatchlistGroupRow, WatchlistItemRow
from backbone.exchange.models import InstrumentRow
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator

GROUPS_PER_CUSTOMER_MAX = 20
ITEMS_PER_GROUP_MAX = 100
GROUP_NAME_LENGTH_MAX = 40


class InvalidWatchlist(BrokerageError):
    status_code = 422
    code = "brokerage.invalid_watchlist"
    title = "The watchlist is not valid"


class UnknownWatchlist(BrokerageError):
    status_code = 404
    code = "brokerage.unknown_watchlist"
    title = "Unknown watchlist group"


class WatchlistNameTaken(BrokerageError):
    status_code = 409
    code = "brokerage.watchlist_name_taken"
    title = "A watchlist group with this name exists"


@dataclass(frozen=True, slots=True)
class WatchlistGroup:
    id: int
    name: str
    instruments: tuple[str, ...]


class Watchlists:
    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    def groups(self, session: Session, customer_id: int) -> list[WatchlistGroup]:
        rows = session.execute(
            select(WatchlistGroupRow.id, WatchlistGroupRow.name)
            .where(WatchlistGroupRow.customer_id == customer_id)
            .order_by(WatchlistGroupRow.position, WatchlistGroupRow.id)
        ).all()
        items: dict[int, list[str]] = {row.id: [] for row in rows}
        if items:
            for group_id, instrument in session.execute(
                select(WatchlistItemRow.group_id, WatchlistItemRow.instrument)
                .where(WatchlistItemRow.group_id.in_(list(items)))
                .order_by(WatchlistItemRow.group_id, WatchlistItemRow.position)
            ):
                items[group_id].append(instrument)
        return [WatchlistGroup(row.id, row.name, tuple(items[row.id])) for row in rows]

    def create_group(
        self, session: Session, customer_id: int, name: str, instruments: Sequence[str] = ()
    ) -> WatchlistGroup:
        name = _check_name(name)
        existing = self.groups(session, customer_id)
        if len(existing) >= GROUPS_PER_CUSTOMER_MAX:
            raise InvalidWatchlist(f"a customer has at most {GROUPS_PER_CUSTOMER_MAX} watchlist groups")
        if any(group.name == name for group in existing):
            raise WatchlistNameTaken(f"a watchlist group named {name!r} exists")
        group_id = self._ids.next()
        session.execute(
            insert(WatchlistGroupRow).values(
                id=group_id,
                customer_id=customer_id,
                name=name,
                position=len(existing),
                created_at=self._clock.now(),
            )
        )
        self._write_items(session, group_id, instruments)
        return WatchlistGroup(group_id, name, tuple(instruments))

    def replace_items(
        self, session: Session, customer_id: int, group_id: int, instruments: Sequence[str]
    ) -> WatchlistGroup:
        group = self._group(session, customer_id, group_id)
        session.execute(delete(WatchlistItemRow).where(WatchlistItemRow.group_id == group_id))
        self._write_items(session, group_id, instruments)
        return WatchlistGroup(group.id, group.name, tuple(instruments))

    def rename(self, session: Session, customer_id: int, group_id: int, name: str) -> WatchlistGroup:
        group = self._group(session, customer_id, group_id)
        name = _check_name(name)
        if any(other.name == name and other.id != group_id for other in self.groups(session, customer_id)):
            raise WatchlistNameTaken(f"a watchlist group named {name!r} exists")
        session.execute(update(WatchlistGroupRow).where(WatchlistGroupRow.id == group_id).values(name=name))
        return WatchlistGroup(group.id, name, group.instruments)

    def delete_group(self, session: Session, customer_id: int, group_id: int) -> None:
        self._group(session, customer_id, group_id)
        session.execute(delete(WatchlistItemRow).where(WatchlistItemRow.group_id == group_id))
        session.execute(delete(WatchlistGroupRow).where(WatchlistGroupRow.id == group_id))

    def _group(self, session: Session, customer_id: int, group_id: int) -> WatchlistGroup:
        for group in self.groups(session, customer_id):
            if group.id == group_id:
                return group
        raise UnknownWatchlist(f"no watchlist group {group_id}")

    @staticmethod
    def _write_items(session: Session, group_id: int, instruments: Sequence[str]) -> None:
        if len(instruments) > ITEMS_PER_GROUP_MAX:
            raise InvalidWatchlist(f"a watchlist group holds at most {ITEMS_PER_GROUP_MAX} instruments")
        if len(set(instruments)) != len(instruments):
            raise InvalidWatchlist("an instrument appears twice in the group")
        if instruments:
            known = session.scalar(
                select(func.count())
                .select_from(InstrumentRow)
                .where(InstrumentRow.code.in_(list(instruments)))
            )
            if known != len(instruments):
                raise UnknownInstrument("the group names an instrument that is not listed")
            session.execute(
                insert(WatchlistItemRow),
                [
                    {"group_id": group_id, "instrument": code, "position": position}
                    for position, code in enumerate(instruments)
                ],
            )


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= GROUP_NAME_LENGTH_MAX:
        raise InvalidWatchlist(f"a group name has 1 to {GROUP_NAME_LENGTH_MAX} characters")
    return cleaned
