"""API shapes of the order chain, for a firm's own front ends (HTS, WTS, MTS)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backbone.brokerage.domain import Account
from backbone.brokerage.trading.domain import ExecutionRecord, OrderRecord, OrderStatus
from backbone.brokerage.watchlists import WatchlistGroup
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.kit.clock import SEOUL


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSummaryOut(Strict):
    id: int
    firm_code: str
    firm_name_ko: str
    firm_name_en: str
    number: str = Field(description="As the firm writes it")
    account_type: str
    alias: str

    @classmethod
    def of(cls, account: Account) -> AccountSummaryOut:
        return cls(
            id=account.id,
            firm_code=account.firm.code,
            firm_name_ko=account.firm.name_ko,
            firm_name_en=account.firm.name_en,
            number=account.display_number,
            account_type=account.account_type.value,
            alias=account.alias,
        )


class OrderIn(Strict):
    instrument: str = Field(min_length=6, max_length=6, examples=["005930"])
    side: Side
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.DAY
    price: StrictInt | None = Field(
        default=None, description="Won per share for a limit order; null for market"
    )
    quantity: StrictInt = Field(description="Whole shares", examples=[10])


class ModifyIn(Strict):
    price: StrictInt | None = Field(default=None, description="A new limit price; null keeps it")
    quantity: StrictInt | None = Field(default=None, description="A new open quantity; null keeps it")


class OrderOut(Strict):
    id: int
    account_id: int
    client_order_key: str
    instrument: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: int | None
    quantity: int
    open_quantity: int
    filled_quantity: int
    cancelled_quantity: int
    average_fill_price: int | None
    status: OrderStatus
    reject_code: str | None
    reject_message: str | None
    trade_date: date
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: OrderRecord) -> OrderOut:
        return cls(
            id=order.id,
            account_id=order.account_id,
            client_order_key=order.client_order_key,
            instrument=order.instrument,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            price=order.price,
            quantity=order.quantity,
            open_quantity=order.open_quantity,
            filled_quantity=order.filled_quantity,
            cancelled_quantity=order.cancelled_quantity,
            average_fill_price=order.average_fill_price,
            status=order.status,
            reject_code=order.reject_code,
            reject_message=order.reject_message,
            trade_date=order.trade_date,
            created_at=order.created_at.astimezone(SEOUL),
            updated_at=order.updated_at.astimezone(SEOUL),
        )


class OrderPage(Strict):
    items: list[OrderOut]
    next_cursor: str | None


class ExecutionOut(Strict):
    id: int
    trade_id: int
    order_id: int
    instrument: str
    side: Side
    price: int
    quantity: int
    gross_won: int
    commission_won: int
    tax_won: int
    trade_date: date
    settlement_date: date
    executed_at: datetime

    @classmethod
    def of(cls, execution: ExecutionRecord) -> ExecutionOut:
        return cls(
            id=execution.id,
            trade_id=execution.trade_id,
            order_id=execution.order_id,
            instrument=execution.instrument,
            side=execution.side,
            price=execution.price,
            quantity=execution.quantity,
            gross_won=execution.gross_won,
            commission_won=execution.commission_won,
            tax_won=execution.tax_won,
            trade_date=execution.trade_date,
            settlement_date=execution.settlement_date,
            executed_at=execution.executed_at.astimezone(SEOUL),
        )


class ExecutionPage(Strict):
    items: list[ExecutionOut]
    next_cursor: str | None


class WatchlistIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    instruments: list[str] = Field(default_factory=list, max_length=100)


class WatchlistUpdateIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=40)
    instruments: list[str] | None = Field(default=None, max_length=100)


class WatchlistOut(Strict):
    id: int
    name: str
    instruments: list[str]

    @classmethod
    def of(cls, group: WatchlistGroup) -> WatchlistOut:
        return cls(id=group.id, name=group.name, instruments=list(group.instruments))


class WithdrawalIn(Strict):
    amount_won: StrictInt
