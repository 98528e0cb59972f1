"""Every order-chain query: orders, executions, settlements, position costs, the venue cursor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backbone.brokerage.models import (
    ExecutionRow,
    OrderRow,
    PositionCostRow,
    SettlementRow,
    VenueCursorRow,
)
from backbone.brokerage.trading.domain import (
    ExecutionRecord,
    OrderRecord,
    OrderStatus,
    Settlement,
)
from backbone.exchange.orders import OrderType, Side, TimeInForce

_ORDERS = cast(Table, OrderRow.__table__)
_EXECUTIONS = cast(Table, ExecutionRow.__table__)
_SETTLEMENTS = cast(Table, SettlementRow.__table__)
_COSTS = cast(Table, PositionCostRow.__table__)
_OPEN_STATUSES = [OrderStatus.NEW.value, OrderStatus.ACCEPTED.value, OrderStatus.PARTIALLY_FILLED.value]


def _order(row: Row[Any]) -> OrderRecord:
    return OrderRecord(
        id=row.id,
        account_id=row.account_id,
        client_order_key=row.client_order_key,
        instrument=row.instrument,
        side=Side(row.side),
        order_type=OrderType(row.order_type),
        time_in_force=TimeInForce(row.time_in_force),
        price=row.price,
        quantity=row.quantity,
        open_quantity=row.open_quantity,
        filled_quantity=row.filled_quantity,
        cancelled_quantity=row.cancelled_quantity,
        filled_value_won=row.filled_value_won,
        status=OrderStatus(row.status),
        reject_code=row.reject_code,
        reject_message=row.reject_message,
        trade_date=row.trade_date,
        last_sequence=row.last_sequence,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _order_values(order: OrderRecord) -> dict[str, Any]:
    return {
        "id": order.id,
        "account_id": order.account_id,
        "client_order_key": order.client_order_key,
        "instrument": order.instrument,
        "side": order.side.value,
        "order_type": order.order_type.value,
        "time_in_force": order.time_in_force.value,
        "price": order.price,
        "quantity": order.quantity,
        "open_quantity": order.open_quantity,
        "filled_quantity": order.filled_quantity,
        "cancelled_quantity": order.cancelled_quantity,
        "filled_value_won": order.filled_value_won,
        "status": order.status.value,
        "reject_code": order.reject_code,
        "reject_message": order.reject_message,
        "trade_date": order.trade_date,
        "last_sequence": order.last_sequence,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


# --- orders ---------------------------------------------------------------------------------

_UPDATE_ORDER = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_id"))
    .values(
        price=bindparam("new_price"),
        quantity=bindparam("new_quantity"),
        open_quantity=bindparam("new_open_quantity"),
        filled_quantity=bindparam("new_filled_quantity"),
        cancelled_quantity=bindparam("new_cancelled_quantity"),
        filled_value_won=bindparam("new_filled_value_won"),
        status=bindparam("new_status"),
        reject_code=bindparam("new_reject_code"),
        reject_message=bindparam("new_reject_message"),
        last_sequence=bindparam("new_last_sequence"),
        updated_at=bindparam("new_updated_at"),
    )
)


def insert_orders(session: Session, orders: Sequence[OrderRecord]) -> None:
    if orders:
        session.connection().execute(insert(_ORDERS), [_order_values(order) for order in orders])


def update_orders(session: Session, orders: Iterable[OrderRecord]) -> None:
    rows = [
        {
            "order_id": order.id,
            "new_price": order.price,
            "new_quantity": order.quantity,
            "new_open_quantity": order.open_quantity,
            "new_filled_quantity": order.filled_quantity,
            "new_cancelled_quantity": order.cancelled_quantity,
            "new_filled_value_won": order.filled_value_won,
            "new_status": order.status.value,
            "new_reject_code": order.reject_code,
            "new_reject_message": order.reject_message,
            "new_last_sequence": order.last_sequence,
            "new_updated_at": order.updated_at,
        }
        for order in orders
    ]
    if rows:
        session.connection().execute(_UPDATE_ORDER, rows)


def orders_by_ids(session: Session, order_ids: Iterable[int]) -> dict[int, OrderRecord]:
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = session.connection().execute(select(_ORDERS).where(_ORDERS.c.id.in_(ids))).all()
    return {row.id: _order(row) for row in rows}


def order_by_client_key(session: Session, account_id: int, key: str) -> OrderRecord | None:
    row = (
        session.connection()
        .execute(select(_ORDERS).where(_ORDERS.c.account_id == account_id, _ORDERS.c.client_order_key == key))
        .first()
    )
    return None if row is None else _order(row)


def orders_by_client_keys(
    session: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], OrderRecord]:
    """Orders already placed under these (account, order key) pairs."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = session.connection().execute(
        select(_ORDERS).where(
            _ORDERS.c.account_id.in_({account for account, _ in wanted}),
            _ORDERS.c.client_order_key.in_({key for _, key in wanted}),
        )
    )
    found = {(row.account_id, row.client_order_key): _order(row) for row in rows}
    return {pair: order for pair, order in found.items() if pair in wanted}


def open_order_counts(session: Session, account_ids: Iterable[int]) -> dict[int, int]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.connection().execute(
        select(_ORDERS.c.account_id, func.count())
        .where(_ORDERS.c.account_id.in_(ids), _ORDERS.c.status.in_(_OPEN_STATUSES))
        .group_by(_ORDERS.c.account_id)
    )
    counts = dict.fromkeys(ids, 0)
    counts.update((account_id, count) for account_id, count in rows)
    return counts


def open_order_count(session: Session, account_id: int) -> int:
    return (
        session.connection()
        .execute(
            select(func.count())
            .select_from(_ORDERS)
            .where(_ORDERS.c.account_id == account_id, _ORDERS.c.status.in_(_OPEN_STATUSES))
        )
        .scalar_one()
    )


def orders_in_status(session: Session, statuses: Iterable[OrderStatus]) -> list[OrderRecord]:
    rows = session.connection().execute(
        select(_ORDERS)
        .where(_ORDERS.c.status.in_([status.value for status in statuses]))
        .order_by(_ORDERS.c.id)
    )
    return [_order(row) for row in rows]


def orders_after(session: Session, after_id: int, limit: int) -> list[OrderRecord]:
    """Orders by id, the first `limit` above `after_id`: every order, a page at a time."""
    rows = session.connection().execute(
        select(_ORDERS).where(_ORDERS.c.id > after_id).order_by(_ORDERS.c.id).limit(limit)
    )
    return [_order(row) for row in rows]


def orders_of_account(
    session: Session, account_id: int, *, open_only: bool, before_id: int | None, limit: int
) -> list[OrderRecord]:
    conditions = [_ORDERS.c.account_id == account_id]
    if open_only:
        conditions.append(_ORDERS.c.status.in_(_OPEN_STATUSES))
    if before_id is not None:
        conditions.append(_ORDERS.c.id < before_id)
    rows = session.connection().execute(
        select(_ORDERS).where(*conditions).order_by(_ORDERS.c.id.desc()).limit(limit)
    )
    return [_order(row) for row in rows]


# --- executions and settlements -------------------------------------------------------------


def _execution(row: Row[Any]) -> ExecutionRecord:
    return ExecutionRecord(
        id=row.id,
        trade_id=row.trade_id,
        order_id=row.order_id,
        account_id=row.account_id,
        instrument=row.instrument,
        side=Side(row.side),
        price=row.price,
        quantity=row.quantity,
        gross_won=row.gross_won,
        commission_won=row.commission_won,
        tax_won=row.tax_won,
        trade_date=row.trade_date,
        settlement_date=row.settlement_date,
        executed_at=row.executed_at,
    )


def booked_trades(session: Session, trade_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(trade id, side) pairs already booked, so a replayed trade is booked once."""
    ids = sorted(set(trade_ids))
    if not ids:
        return set()
    rows = session.connection().execute(
        select(_EXECUTIONS.c.trade_id, _EXECUTIONS.c.side).where(_EXECUTIONS.c.trade_id.in_(ids))
    )
    return {(row.trade_id, row.side) for row in rows}


def executions_of_orders(session: Session, order_ids: Iterable[int]) -> dict[int, list[ExecutionRecord]]:
    """Each order's executions (its side of each trade), in trade order."""
    ids = sorted(set(order_ids))
    found: dict[int, list[ExecutionRecord]] = {order_id: [] for order_id in ids}
    if ids:
        rows = session.connection().execute(
            select(_EXECUTIONS).where(_EXECUTIONS.c.order_id.in_(ids)).order_by(_EXECUTIONS.c.trade_id)
        )
        for row in rows:
            found[row.order_id].append(_execution(row))
    return found


def insert_executions(
    session: Session, executions: Sequence[ExecutionRecord], sequences: Sequence[int]
) -> None:
    if not executions:
        return
    session.connection().execute(
        insert(_EXECUTIONS),
        [
            {
                "id": execution.id,
                "trade_id": execution.trade_id,
                "order_id": execution.order_id,
                "account_id": execution.account_id,
                "instrument": execution.instrument,
                "side": execution.side.value,
                "price": execution.price,
                "quantity": execution.quantity,
                "gross_won": execution.gross_won,
                "commission_won": execution.commission_won,
                "tax_won": execution.tax_won,
                "trade_date": execution.trade_date,
                "settlement_date": execution.settlement_date,
                "venue_sequence": sequence,
                "executed_at": execution.executed_at,
            }
            for execution, sequence in zip(executions, sequences, strict=True)
        ],
    )


def executions_of_account(
    session: Session, account_id: int, *, order_id: int | None, before_id: int | None, limit: int
) -> list[ExecutionRecord]:
    conditions = [_EXECUTIONS.c.account_id == account_id]
    if order_id is not None:
        conditions.append(_EXECUTIONS.c.order_id == order_id)
    if before_id is not None:
        conditions.append(_EXECUTIONS.c.id < before_id)
    rows = session.connection().execute(
        select(_EXECUTIONS).where(*conditions).order_by(_EXECUTIONS.c.id.desc()).limit(limit)
    )
    return [_execution(row) for row in rows]


def insert_settlements(session: Session, settlements: Sequence[Settlement]) -> None:
    if not settlements:
        return
    session.connection().execute(
        insert(_SETTLEMENTS),
        [
            {
                "id": settlement.id,
                "execution_id": settlement.execution_id,
                "account_id": settlement.account_id,
                "direction": "pay" if settlement.direction is Side.BUY else "receive",
                "amount_won": settlement.amount_won,
                "settlement_date": settlement.settlement_date,
                "status": "pending",
                "settled_at": None,
            }
            for settlement in settlements
        ],
    )


def _settlement(row: Row[Any]) -> Settlement:
    return Settlement(
        id=row.id,
        execution_id=row.execution_id,
        account_id=row.account_id,
        direction=Side.BUY if row.direction == "pay" else Side.SELL,
        amount_won=row.amount_won,
        settlement_date=row.settlement_date,
    )


def pending_settlements(session: Session, account_id: int) -> list[Settlement]:
    rows = session.connection().execute(
        select(_SETTLEMENTS).where(
            _SETTLEMENTS.c.account_id == account_id, _SETTLEMENTS.c.status == "pending"
        )
    )
    return [_settlement(row) for row in rows]


_PENDING_SETTLEMENTS_OF = select(_SETTLEMENTS).where(
    _SETTLEMENTS.c.account_id.in_(bindparam("account_ids", expanding=True)),
    _SETTLEMENTS.c.status == "pending",
)


def pending_settlements_of(session: Session, account_ids: Iterable[int]) -> dict[int, list[Settlement]]:
    """account -> its pending settlements, for many accounts in one query."""
    ids = sorted(set(account_ids))
    found: dict[int, list[Settlement]] = {account_id: [] for account_id in ids}
    if ids:
        for row in session.connection().execute(_PENDING_SETTLEMENTS_OF, {"account_ids": ids}):
            found[row.account_id].append(_settlement(row))
    return found


def due_settlements(session: Session, day: date, limit: int) -> list[Settlement]:
    rows = session.connection().execute(
        select(_SETTLEMENTS)
        .where(_SETTLEMENTS.c.status == "pending", _SETTLEMENTS.c.settlement_date <= day)
        .order_by(_SETTLEMENTS.c.id)
        .limit(limit)
        .with_for_update()
    )
    return [_settlement(row) for row in rows]


def mark_settled(session: Session, settlement_ids: Sequence[int], at: datetime) -> None:
    if settlement_ids:
        session.connection().execute(
            update(_SETTLEMENTS)
            .where(_SETTLEMENTS.c.id.in_(list(settlement_ids)), _SETTLEMENTS.c.status == "pending")
            .values(status="settled", settled_at=at)
        )


# --- position costs -------------------------------------------------------------------------


def position_costs(session: Session, account_id: int) -> dict[str, tuple[int, int]]:
    """instrument -> (quantity in micro-units, book cost in won)."""
    rows = session.connection().execute(
        select(_COSTS.c.instrument, _COSTS.c.quantity_micro, _COSTS.c.cost_won).where(
            _COSTS.c.account_id == account_id
        )
    )
    return {row.instrument: (row.quantity_micro, row.cost_won) for row in rows}


_POSITION_COSTS_OF = select(
    _COSTS.c.account_id, _COSTS.c.instrument, _COSTS.c.quantity_micro, _COSTS.c.cost_won
).where(_COSTS.c.account_id.in_(bindparam("account_ids", expanding=True)))


def position_costs_of(session: Session, account_ids: Iterable[int]) -> dict[tuple[int, str], tuple[int, int]]:
    """(account, instrument) -> (quantity in micro-units, book cost in won), for many accounts."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.connection().execute(_POSITION_COSTS_OF, {"account_ids": ids})
    # unpacked, not read by name: a Row's named access costs several times more per field
    return {(account_id, code): (quantity, cost) for account_id, code, quantity, cost in rows}


def save_costs(session: Session, costs: dict[tuple[int, str], tuple[int, int]]) -> None:
    """Write (quantity, cost) per (account, instrument), inserting or replacing, in one statement."""
    if not costs:
        return
    dialect = session.get_bind().dialect.name
    rows = [
        {"account_id": account_id, "instrument": code, "quantity_micro": quantity, "cost_won": cost}
        for (account_id, code), (quantity, cost) in sorted(costs.items())
    ]
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(_COSTS).values(rows)
    session.connection().execute(
        statement.on_conflict_do_update(
            index_elements=["account_id", "instrument"],
            set_={
                "quantity_micro": statement.excluded.quantity_micro,
                "cost_won": statement.excluded.cost_won,
            },
        )
    )


def save_position_costs(session: Session, account_id: int, costs: dict[str, tuple[int, int]]) -> None:
    """Write (quantity, cost) per instrument, inserting or replacing."""
    if not costs:
        return
    dialect = session.get_bind().dialect.name
    rows = [
        {"account_id": account_id, "instrument": code, "quantity_micro": quantity, "cost_won": cost}
        for code, (quantity, cost) in costs.items()
    ]
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(_COSTS).values(rows)
    session.connection().execute(
        statement.on_conflict_do_update(
            index_elements=["account_id", "instrument"],
            set_={
                "quantity_micro": statement.excluded.quantity_micro,
                "cost_won": statement.excluded.cost_won,
            },
        )
    )


# --- the venue cursor -----------------------------------------------------------------------


def booked_sequence(session: Session, venue: str) -> int:
    value = session.scalar(select(VenueCursorRow.booked_sequence).where(VenueCursorRow.venue == venue))
    return 0 if value is None else int(value)


def booked_journal_identity(session: Session, venue: str) -> str | None:
    """The identity of the journal the brokerage books `venue` from, None while none is recorded."""
    return session.scalar(select(VenueCursorRow.journal_identity).where(VenueCursorRow.venue == venue))


def save_booked_journal_identity(session: Session, venue: str, identity: str, at: datetime) -> None:
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(VenueCursorRow).values(
        venue=venue, booked_sequence=0, journal_identity=identity, updated_at=at
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["venue"], set_={"journal_identity": identity, "updated_at": at}
        )
    )


def save_booked_sequence(session: Session, venue: str, sequence: int, at: datetime) -> None:
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(VenueCursorRow).values(
        venue=venue, booked_sequence=sequence, updated_at=at
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["venue"], set_={"booked_sequence": sequence, "updated_at": at}
        )
    )
