"""Instrument master queries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backbone.exchange.instruments import Instrument
from backbone.exchange.models import InstrumentRow

_COLUMNS = ("isin", "name_ko", "name_en", "market", "sector", "shares_listed", "base_price")


def upsert_instruments(session: Session, instruments: Iterable[Instrument]) -> int:
    rows = [
        {
            "code": item.code,
            "isin": item.isin,
            "name_ko": item.name_ko,
            "name_en": item.name_en,
            "market": item.market.value,
            "sector": item.sector,
            "shares_listed": item.shares_listed,
            "base_price": item.base_price,
        }
        for item in instruments
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(InstrumentRow).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[InstrumentRow.code], set_={name: statement.excluded[name] for name in _COLUMNS}
    )
    session.execute(statement)
    return len(rows)


def instrument_codes(session: Session) -> list[str]:
    return list(session.scalars(select(InstrumentRow.code).order_by(InstrumentRow.code)))
