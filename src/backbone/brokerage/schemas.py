"""API shapes of the brokerage back office. Separate from tables and from the domain: a field
here is a promise to clients. Amounts in won are JSON integers; quantities of securities are
decimal strings (so fractional shares are exact); a missing value is always `null`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from backbone.brokerage.domain import (
    Account,
    AccountBalance,
    AccountType,
    Customer,
    Firm,
    Position,
    TransactionKind,
    TransactionLine,
)
from backbone.kit.clock import SEOUL
from backbone.kit.money import Quantity
from backbone.ledger.domain import CASH, Kind, Transfer


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FirmOut(Strict):
    code: str
    name_ko: str
    name_en: str
    account_number_pattern: str = Field(description="B branch, P product, N serial, C check digit")
    commission_ppm: int

    @classmethod
    def of(cls, firm: Firm) -> FirmOut:
        return cls(
            code=firm.code,
            name_ko=firm.name_ko,
            name_en=firm.name_en,
            account_number_pattern=firm.account_number_format.pattern,
            commission_ppm=firm.commission_ppm,
        )


class FirmIn(Strict):
    code: str = Field(min_length=2, max_length=8, examples=["HNB"])
    name_ko: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=80)
    account_number_pattern: str = Field(max_length=24, examples=["BBB-PP-NNNNNC"])
    branch: StrictInt = 0
    commission_ppm: StrictInt = Field(
        default=150, description="Commission in parts per million (150 = 0.015%)"
    )


class CustomerIn(Strict):
    name: str = Field(min_length=1, max_length=60)
    birth_date: date
    phone: str = Field(min_length=10, max_length=13, examples=["010-1234-5678"])
    email: str | None = Field(default=None, max_length=254)
    personal_identifier: str | None = Field(default=None, min_length=88, max_length=88)


class CustomerOut(Strict):
    id: int
    firm_code: str
    customer_number: str
    name: str

    @classmethod
    def of(cls, customer: Customer, firm_code: str) -> CustomerOut:
        return cls(
            id=customer.id, firm_code=firm_code, customer_number=customer.customer_number, name=customer.name
        )


class AccountIn(Strict):
    account_type: AccountType = AccountType.GENERAL
    alias: str = Field(default="", max_length=40)


class AccountOut(Strict):
    id: int
    firm_code: str
    number: str = Field(description="As the firm writes it, with separators")
    account_type: AccountType
    alias: str
    status: str
    opened_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.id,
            firm_code=account.firm.code,
            number=account.display_number,
            account_type=account.account_type,
            alias=account.alias,
            status=account.status.value,
            opened_at=account.opened_at.astimezone(SEOUL),
        )


class CashMovementIn(Strict):
    amount_won: StrictInt = Field(description="Whole won; must be positive", examples=[1_000_000])
    memo: str = Field(default="", max_length=200)


class TransferIn(Strict):
    to_account: str = Field(description="The receiving account's number at the same firm")
    asset: str = Field(default=CASH, description="KRW, or a 6-digit instrument code", max_length=32)
    amount_won: StrictInt | None = Field(default=None, description="For KRW: whole won")
    quantity: StrictInt | None = Field(default=None, description="For securities: whole shares")
    memo: str = Field(default="", max_length=200)


class SecuritiesInIn(Strict):
    instrument: str = Field(min_length=6, max_length=6, examples=["005930"])
    quantity: StrictInt = Field(description="Whole shares")
    unit_cost_won: StrictInt = Field(description="Book cost per share (the acquisition price elsewhere)")
    memo: str = Field(default="", max_length=200)


class TransferOut(Strict):
    id: int
    kind: Kind
    occurred_at: datetime
    idempotency_key: str
    memo: str

    @classmethod
    def of(cls, transfer: Transfer) -> TransferOut:
        return cls(
            id=transfer.id,
            kind=transfer.kind,
            occurred_at=transfer.occurred_at.astimezone(SEOUL),
            idempotency_key=transfer.idempotency_key,
            memo=transfer.memo,
        )


class PositionOut(Strict):
    instrument: str
    quantity: str = Field(description="Shares held, as a decimal string")
    sellable_quantity: str = Field(description="Shares not held for open sell orders")
    average_price_won: int | None = Field(description="평균단가: book cost per share; null without shares")
    cost_won: int = Field(description="매입금액: book cost")
    last_price_won: int = Field(description="현재가: the last trade today, else the base price")
    valuation_won: int = Field(description="평가금액 at the last price")
    profit_won: int = Field(description="평가손익: valuation less book cost")

    @classmethod
    def of(cls, position: Position) -> PositionOut:
        return cls(
            instrument=position.instrument,
            quantity=str(Quantity(position.total)),
            sellable_quantity=str(Quantity(position.available)),
            average_price_won=position.average_price,
            cost_won=position.cost_won,
            last_price_won=position.last_price,
            valuation_won=position.valuation_won,
            profit_won=position.profit_won,
        )


class BalanceOut(Strict):
    account_id: int
    cash_won: int = Field(description="예수금: cash in the account today")
    cash_next_day_won: int = Field(description="D+1 예수금: after the next trading day's settlements")
    cash_second_day_won: int = Field(description="D+2 예수금: after every pending settlement")
    buying_power_won: int = Field(description="Cash not held for orders nor committed to settlements")
    cash_held_won: int = Field(description="Cash held for open buy orders")
    withdrawable_won: int = Field(description="출금가능금액")
    valuation_won: int = Field(description="평가금액 of all positions")
    cost_won: int = Field(description="매입금액 of all positions")
    profit_won: int = Field(description="평가손익 of all positions")
    total_assets_won: int = Field(description="추정자산: D+2 cash plus the valuation")
    positions: list[PositionOut]

    @classmethod
    def of(cls, balance: AccountBalance) -> BalanceOut:
        return cls(
            account_id=balance.account_id,
            cash_won=balance.cash_today,
            cash_next_day_won=balance.cash_next_day,
            cash_second_day_won=balance.cash_second_day,
            buying_power_won=balance.cash_available,
            cash_held_won=balance.cash_held,
            withdrawable_won=balance.withdrawable,
            valuation_won=balance.valuation_won,
            cost_won=balance.cost_won,
            profit_won=balance.profit_won,
            total_assets_won=balance.total_assets_won,
            positions=[PositionOut.of(position) for position in balance.positions],
        )


class TransactionOut(Strict):
    id: int
    occurred_at: datetime
    kind: TransactionKind
    instrument: str | None
    quantity: str | None = Field(description="Shares into (+) or out of (-) the account; null for cash")
    price_won: int | None
    amount_won: int | None = Field(description="The value traded or moved")
    commission_won: int
    tax_won: int
    cash_won: int = Field(description="정산금액: the signed cash effect on the account")
    settlement_date: date | None
    memo: str

    @classmethod
    def of(cls, line: TransactionLine) -> TransactionOut:
        return cls(
            id=line.id,
            occurred_at=line.occurred_at.astimezone(SEOUL),
            kind=line.kind,
            instrument=line.instrument,
            quantity=None if line.quantity_micro is None else str(Quantity(line.quantity_micro)),
            price_won=line.price,
            amount_won=line.amount_won,
            commission_won=line.commission_won,
            tax_won=line.tax_won,
            cash_won=line.cash_won,
            settlement_date=line.settlement_date,
            memo=line.memo,
        )


class TransactionPage(Strict):
    items: list[TransactionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end")
