"""주문내역 and 체결내역: an account's orders and executions, newest first, a page at a time."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backbone.brokerage.domain import Account
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.domain import ExecutionRecord, OrderRecord
from backbone.brokerage.trading.errors import UnknownOrder
from backbone.kit.pagination import Page, decode_cursor, encode_cursor, page_size


def _before(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    (before,) = decode_cursor(cursor, types=(int,))
    return int(before)


def orders(
    session: Session,
    account: Account,
    *,
    open_only: bool = False,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[OrderRecord]:
    size = page_size(limit)
    found = repository.orders_of_account(
        session, account.id, open_only=open_only, before_id=_before(cursor), limit=size + 1
    )
    page = found[:size]
    return Page(items=page, next_cursor=encode_cursor([page[-1].id]) if len(found) > size else None)


def order(session: Session, account: Account, order_id: int) -> OrderRecord:
    found = repository.orders_by_ids(session, [order_id]).get(order_id)
    if found is None or found.account_id != account.id:
        raise UnknownOrder(f"no order {order_id} on this account")
    return found


def executions(
    session: Session,
    account: Account,
    *,
    order_id: int | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[ExecutionRecord]:
    size = page_size(limit)
    found = repository.executions_of_account(
        session, account.id, order_id=order_id, before_id=_before(cursor), limit=size + 1
    )
    page = found[:size]
    return Page(items=page, next_cursor=encode_cursor([page[-1].id]) if len(found) > size else None)
