"""Every ledger query. Core SQL, not ORM objects: the write path must control statement order
(legs before the transfer row that seals them) and must not carry an identity map's cost."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backbone.kit.db import DriverStatement
from backbone.ledger.domain import (
    AccountState,
    HistoryLine,
    HoldState,
    Kind,
    Leg,
    Purpose,
    StagedWrite,
    Transfer,
)
from backbone.ledger.models import AccountRow, AssetRow, HoldMovementRow, HoldRow, LegRow, TransferRow

_ACCOUNT_COLUMNS = (
    AccountRow.id,
    AccountRow.owner,
    AccountRow.asset,
    AccountRow.purpose,
    AccountRow.balance,
    AccountRow.minimum_balance,
)


def _account_state(row: Row[int, str, str, str, int, int | None]) -> AccountState:
    account_id, owner, asset, purpose, balance, minimum = row
    return AccountState(
        id=account_id,
        owner=owner,
        asset=asset,
        purpose=Purpose(purpose),
        balance=balance,
        minimum_balance=minimum,
    )


# --- assets -------------------------------------------------------------------------------------


def asset_exists(session: Session, code: str) -> bool:
    return session.scalar(select(AssetRow.code).where(AssetRow.code == code)) is not None


def upsert_assets(session: Session, assets: Iterable[tuple[str, str, str]]) -> int:
    """Add (code, kind, name) rows that are missing; names of existing ones are refreshed."""
    rows = [{"code": code, "kind": kind, "name": name} for code, kind, name in assets]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(AssetRow).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[AssetRow.code], set_={"name": statement.excluded.name}
    )
    session.execute(statement)
    return len(rows)


# --- accounts -----------------------------------------------------------------------------------


def find_account(session: Session, owner: str, asset: str, purpose: Purpose) -> AccountState | None:
    row = session.execute(
        select(*_ACCOUNT_COLUMNS).where(
            AccountRow.owner == owner, AccountRow.asset == asset, AccountRow.purpose == purpose.value
        )
    ).first()
    return None if row is None else _account_state(row)


def insert_account_if_missing(
    session: Session,
    *,
    account_id: int,
    owner: str,
    asset: str,
    purpose: Purpose,
    minimum_balance: int | None,
    created_at: datetime,
) -> None:
    values = {
        "id": account_id,
        "owner": owner,
        "asset": asset,
        "purpose": purpose.value,
        "minimum_balance": minimum_balance,
        "balance": 0,
        "created_at": created_at,
    }
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(AccountRow).values(values)
    session.execute(statement.on_conflict_do_nothing(index_elements=["owner", "asset", "purpose"]))


_LOCK_ACCOUNTS = (
    select(*_ACCOUNT_COLUMNS)
    .where(AccountRow.id.in_(bindparam("ids", expanding=True)))
    .order_by(AccountRow.id)
    .with_for_update()
)


def lock_accounts(session: Session, account_ids: Iterable[int]) -> dict[int, AccountState]:
    """Read and lock accounts in id order (a fixed order, so two transfers cannot deadlock).
    PostgreSQL takes row locks; SQLite's BEGIN IMMEDIATE already holds the database's write lock."""
    rows = session.connection().execute(_LOCK_ACCOUNTS, {"ids": sorted(set(account_ids))}).all()
    return {state.id: state for state in map(_account_state, rows)}


_ACCOUNTS_OF_OWNERS = select(*_ACCOUNT_COLUMNS).where(
    AccountRow.owner.in_(bindparam("owners", expanding=True))
)


def accounts_of_owners(session: Session, owners: Iterable[str]) -> list[AccountState]:
    """Every account of these owners, with one query."""
    names = sorted(set(owners))
    if not names:
        return []
    return [
        _account_state(row) for row in session.connection().execute(_ACCOUNTS_OF_OWNERS, {"owners": names})
    ]


@functools.lru_cache(maxsize=64)
def _fingerprints(owners: int) -> DriverStatement:
    # On the driver: the open API's integrated portfolio reads it every call. One statement per
    # number of owners, as the driver has no expanding parameters.
    return DriverStatement(
        select(AccountRow.owner, func.count(), func.sum(AccountRow.version))
        .where(AccountRow.owner.in_([bindparam(f"owner_{index}") for index in range(owners)]))
        .group_by(AccountRow.owner)
    )


def fingerprints(session: Session, owners: Iterable[str]) -> dict[str, tuple[int, int]]:
    """owner -> (accounts, legs ever posted to them): both only grow, so any committed movement
    of an owner's balances changes the pair."""
    names = sorted(set(owners))
    if not names:
        return {}
    rows = _fingerprints(len(names)).rows(
        session, {f"owner_{index}": name for index, name in enumerate(names)}
    )
    return {owner: (int(count), int(versions or 0)) for owner, count, versions in rows}


def insert_accounts_if_missing(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Open accounts (id, owner, asset, purpose, minimum_balance, balance, created_at); ones
    another transaction opened meanwhile are left as they are."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(AccountRow)
    session.execute(
        statement.on_conflict_do_nothing(index_elements=["owner", "asset", "purpose"]), list(rows)
    )


def owner_accounts(session: Session, owner: str) -> list[AccountState]:
    rows = session.execute(
        select(*_ACCOUNT_COLUMNS)
        .where(AccountRow.owner == owner)
        .order_by(AccountRow.asset, AccountRow.purpose)
    ).all()
    return [_account_state(row) for row in rows]


# --- transfers ----------------------------------------------------------------------------------


# The write path's statements are built once: constructing them per call cost more than running them.
# Core tables, not mapped classes: an ORM insert goes through the ORM's bulk machinery.
_LEGS = cast(Table, LegRow.__table__)
_TRANSFERS = cast(Table, TransferRow.__table__)
_HOLD_MOVEMENTS = cast(Table, HoldMovementRow.__table__)
_HOLDS = cast(Table, HoldRow.__table__)
_INSERT_LEGS = insert(_LEGS)
_INSERT_TRANSFER = insert(_TRANSFERS)
_INSERT_HOLD_MOVEMENTS = insert(_HOLD_MOVEMENTS)
_INSERT_HOLDS = insert(_HOLDS)
_MOVE_HOLD = (
    update(_HOLDS)
    .where(_HOLDS.c.id == bindparam("moved_hold"))
    .values(remaining=_HOLDS.c.remaining + bindparam("moved_amount"), updated_at=bindparam("moved_at"))
)


_FIND_TRANSFERS = select(
    TransferRow.id,
    TransferRow.idempotency_key,
    TransferRow.kind,
    TransferRow.memo,
    TransferRow.reference,
    TransferRow.occurred_at,
    TransferRow.fingerprint,
).where(TransferRow.idempotency_key.in_(bindparam("keys", expanding=True)))
_LEGS_OF_TRANSFERS = (
    select(LegRow.transfer_id, LegRow.account_id, LegRow.asset, LegRow.amount)
    .where(LegRow.transfer_id.in_(bindparam("transfer_ids", expanding=True)))
    .order_by(LegRow.transfer_id, LegRow.position)
)


def find_transfers_by_keys(session: Session, keys: Iterable[str]) -> dict[str, tuple[Transfer, str]]:
    """Stored transfers by idempotency key, each with its request fingerprint."""
    connection = session.connection()
    rows = connection.execute(_FIND_TRANSFERS, {"keys": sorted(set(keys))}).all()
    if not rows:
        return {}
    legs: dict[int, list[Leg]] = {row.id: [] for row in rows}
    for leg in connection.execute(_LEGS_OF_TRANSFERS, {"transfer_ids": list(legs)}):
        legs[leg.transfer_id].append(Leg(leg.account_id, leg.asset, leg.amount))
    return {
        row.idempotency_key: (
            Transfer(
                id=row.id,
                idempotency_key=row.idempotency_key,
                kind=Kind(row.kind),
                legs=tuple(legs[row.id]),
                occurred_at=row.occurred_at,
                memo=row.memo,
                reference=row.reference,
            ),
            row.fingerprint,
        )
        for row in rows
    }


def find_transfer_by_key(session: Session, key: str) -> tuple[Transfer, str] | None:
    return find_transfers_by_keys(session, [key]).get(key)


def insert_transfers(session: Session, staged: Sequence[StagedWrite], occurred_at: datetime) -> None:
    """Holds opened first, then every leg, then the sealing rows (the database checks each
    transfer's legs when its row arrives and refuses later legs), then hold movements."""
    connection = session.connection()
    openings = [write.opening for write in staged if write.opening is not None]
    if openings:
        connection.execute(
            _INSERT_HOLDS,
            [
                {
                    "id": hold.id,
                    "idempotency_key": write.transfer.idempotency_key,
                    "source_account_id": hold.source_account_id,
                    "held_account_id": hold.held_account_id,
                    "asset": hold.asset,
                    "amount": hold.amount,
                    "remaining": 0,  # the opening transfer's movement adds the amount
                    "reference": write.transfer.reference,
                    "created_at": occurred_at,
                    "updated_at": occurred_at,
                }
                for write in staged
                if (hold := write.opening) is not None
            ],
        )
    connection.execute(
        _INSERT_LEGS,
        [
            {
                "transfer_id": write.transfer.id,
                "position": position,
                "account_id": leg.account_id,
                "asset": leg.asset,
                "amount": leg.amount,
            }
            for write in staged
            for position, leg in enumerate(write.transfer.legs)
        ],
    )
    connection.execute(
        _INSERT_TRANSFER,
        [
            {
                "id": write.transfer.id,
                "idempotency_key": write.transfer.idempotency_key,
                "fingerprint": write.fingerprint,
                "kind": write.transfer.kind.value,
                "memo": write.transfer.memo,
                "reference": write.transfer.reference,
                "occurred_at": occurred_at,
            }
            for write in staged
        ],
    )
    movements = [
        {"transfer_id": write.transfer.id, "hold_id": hold_id, "amount": change}
        for write in staged
        for hold_id, change in write.movements.items()
    ]
    if movements:
        connection.execute(_INSERT_HOLD_MOVEMENTS, movements)
        connection.execute(
            _MOVE_HOLD,
            [
                {"moved_hold": row["hold_id"], "moved_amount": row["amount"], "moved_at": occurred_at}
                for row in movements
            ],
        )


# --- holds --------------------------------------------------------------------------------------

_HOLD_COLUMNS = (
    HoldRow.id,
    HoldRow.source_account_id,
    HoldRow.held_account_id,
    HoldRow.asset,
    HoldRow.amount,
    HoldRow.remaining,
)


def _hold_state(row: Row[int, int, int, str, int, int]) -> HoldState:
    hold_id, source, held, asset, amount, remaining = row
    return HoldState(
        id=hold_id,
        source_account_id=source,
        held_account_id=held,
        asset=asset,
        amount=amount,
        remaining=remaining,
    )


def lock_holds(session: Session, hold_ids: Iterable[int]) -> dict[int, HoldState]:
    rows = session.execute(
        select(*_HOLD_COLUMNS)
        .where(HoldRow.id.in_(sorted(set(hold_ids))))
        .order_by(HoldRow.id)
        .with_for_update()
    ).all()
    return {state.id: state for state in map(_hold_state, rows)}


def find_hold_by_key(session: Session, key: str) -> tuple[HoldState, str | None] | None:
    row = session.execute(select(*_HOLD_COLUMNS).where(HoldRow.idempotency_key == key)).first()
    if row is None:
        return None
    reference = session.scalar(select(HoldRow.reference).where(HoldRow.id == row.id))
    return _hold_state(row), reference


_HOLDS_BY_KEYS = select(*_HOLD_COLUMNS, HoldRow.idempotency_key, HoldRow.reference).where(
    HoldRow.idempotency_key.in_(bindparam("keys", expanding=True))
)
_HOLDS_OF_REFERENCES = (
    select(*_HOLD_COLUMNS, HoldRow.reference)
    .where(HoldRow.reference.in_(bindparam("references", expanding=True)))
    .order_by(HoldRow.id)
)


def _hold_of(row: Any) -> HoldState:  # a row with the hold columns by name
    return HoldState(
        id=row.id,
        source_account_id=row.source_account_id,
        held_account_id=row.held_account_id,
        asset=row.asset,
        amount=row.amount,
        remaining=row.remaining,
    )


def holds_by_keys(session: Session, keys: Iterable[str]) -> dict[str, tuple[HoldState, str | None]]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = session.connection().execute(_HOLDS_BY_KEYS, {"keys": wanted}).all()
    return {row.idempotency_key: (_hold_of(row), row.reference) for row in rows}


def holds_of_references(session: Session, references: Iterable[str]) -> dict[str, list[HoldState]]:
    """Holds by their reference (an order, say), oldest first, with one query."""
    wanted = sorted(set(references))
    found: dict[str, list[HoldState]] = {reference: [] for reference in wanted}
    if wanted:
        for row in session.connection().execute(_HOLDS_OF_REFERENCES, {"references": wanted}):
            found[row.reference].append(_hold_of(row))
    return found


def remaining_holds(session: Session, reference_prefix: str) -> dict[str, list[HoldState]]:
    """Holds with something left whose reference starts with the prefix, by reference, oldest first."""
    rows = session.connection().execute(
        select(*_HOLD_COLUMNS, HoldRow.reference)
        .where(HoldRow.remaining > 0, HoldRow.reference.startswith(reference_prefix, autoescape=True))
        .order_by(HoldRow.id)
    )
    found: dict[str, list[HoldState]] = {}
    for row in rows:
        found.setdefault(row.reference, []).append(_hold_of(row))
    return found


def holds_for_reference(session: Session, reference: str) -> list[HoldState]:
    rows = session.execute(
        select(*_HOLD_COLUMNS).where(HoldRow.reference == reference).order_by(HoldRow.id)
    ).all()
    return [_hold_state(row) for row in rows]


# --- history ------------------------------------------------------------------------------------


def history(
    session: Session,
    *,
    owner: str,
    since: datetime | None,
    until: datetime | None,
    kinds: Iterable[Kind] | None,
    excluded_kinds: Iterable[Kind],
    after: tuple[int, str] | None,
    limit: int,
) -> list[HistoryLine]:
    """Net movement per transfer and asset over the owner's accounts, newest first; internal
    moves (holds, releases) net to zero for the owner and are left out."""
    net = func.sum(LegRow.amount).label("net")
    conditions = [AccountRow.owner == owner, TransferRow.kind.not_in([kind.value for kind in excluded_kinds])]
    if kinds is not None:
        conditions.append(TransferRow.kind.in_([kind.value for kind in kinds]))
    if since is not None:
        conditions.append(TransferRow.occurred_at >= since)
    if until is not None:
        conditions.append(TransferRow.occurred_at < until)
    if after is not None:
        after_id, after_asset = after
        conditions.append(
            or_(TransferRow.id < after_id, and_(TransferRow.id == after_id, LegRow.asset < after_asset))
        )
    rows = session.execute(
        select(
            TransferRow.id,
            TransferRow.occurred_at,
            TransferRow.kind,
            TransferRow.memo,
            TransferRow.reference,
            LegRow.asset,
            net,
        )
        .join(LegRow, LegRow.transfer_id == TransferRow.id)
        .join(AccountRow, AccountRow.id == LegRow.account_id)
        .where(*conditions)
        .group_by(
            TransferRow.id,
            TransferRow.occurred_at,
            TransferRow.kind,
            TransferRow.memo,
            TransferRow.reference,
            LegRow.asset,
        )
        .having(net != 0)
        .order_by(TransferRow.id.desc(), LegRow.asset.desc())
        .limit(limit)
    ).all()
    return [
        HistoryLine(
            transfer_id=row.id,
            occurred_at=row.occurred_at,
            kind=Kind(row.kind),
            asset=row.asset,
            amount=int(row.net),
            memo=row.memo,
            reference=row.reference,
        )
        for row in rows
    ]
