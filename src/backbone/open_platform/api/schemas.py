"""The open API's shapes: a promise to every app, the same for every firm.

- Amounts are JSON integers in won; quantities are decimal strings of shares (fractional shares
  stay exact); ratios are decimal strings with four places ("0.2500"), never floats.
- A value that is missing is JSON null: every field is always present, never "" or "null".
- Sides are "buy" and "sell". Times are ISO 8601 in Korea Standard Time.
- A virtual account number is 18 digits; no shape has a field for the real account number.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from backbone.open_platform.adapters.interface import TransactionKind
from backbone.open_platform.inquiry import FirmStatus

NUMBER_PATTERN = r"^[0-9]{18}$"


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FirmOut(Shape):
    code: str = Field(examples=["HNB"])
    name_ko: str
    name_en: str


class ConsentStateOut(Shape):
    kind: str = Field(description="platform_firm or fintech_firm")
    firm: str
    status: str = Field(description="active, expired, revoked, renewed, or missing")
    expires_at: datetime | None


class MembershipOut(Shape):
    subject: str = Field(description="The member's identifier for this app (the tokens' sub)")
    client_id: str
    app_name: str
    status: str
    applied_at: datetime
    scopes: list[str]
    linked_accounts: int
    readable_accounts: int
    consents: list[ConsentStateOut]


class LinkedAccountOut(Shape):
    virtual_account_number: str = Field(pattern=NUMBER_PATTERN)
    firm: FirmOut
    alias: str
    account_type: str
    status: FirmStatus = Field(description="ok, or why the account cannot be read now")
    capabilities: list[str]
    consent_expires_at: datetime | None = Field(description="The earlier of the two consents' expiry")


class PositionOut(Shape):
    instrument: str
    name_ko: str | None
    name_en: str | None
    quantity: str = Field(description="Shares held, a decimal string")
    sellable_quantity: str
    average_price_won: int | None = Field(description="평균단가")
    cost_won: int = Field(description="매입금액")
    last_price_won: int | None = Field(description="현재가")
    valuation_won: int = Field(description="평가금액")
    profit_won: int = Field(description="평가손익")
    profit_rate: str | None = Field(description="수익률: profit / cost, a decimal string; null without cost")


class BalanceOut(Shape):
    virtual_account_number: str = Field(pattern=NUMBER_PATTERN)
    firm_code: str
    currency: str = "KRW"
    cash_won: int = Field(description="예수금")
    cash_next_day_won: int = Field(description="D+1 예수금")
    cash_second_day_won: int = Field(description="D+2 예수금")
    withdrawable_won: int = Field(description="출금가능금액")
    buying_power_won: int
    valuation_won: int
    cost_won: int
    profit_won: int
    profit_rate: str | None
    total_assets_won: int = Field(description="추정자산: D+2 cash plus the valuation")
    positions: list[PositionOut]
    as_of: datetime


class TransactionOut(Shape):
    id: str
    occurred_at: datetime
    kind: TransactionKind
    side: str | None = Field(description="buy or sell for trades; null otherwise")
    instrument: str | None
    quantity: str | None
    price_won: int | None
    amount_won: int | None
    commission_won: int
    tax_won: int
    cash_won: int
    settlement_date: date | None
    memo: str | None


class TransactionPageOut(Shape):
    virtual_account_number: str = Field(pattern=NUMBER_PATTERN)
    firm_code: str
    items: list[TransactionOut]
    next_cursor: str | None


class MixOut(Shape):
    key: str = Field(description="KRW for cash, an instrument code, a market or a sector")
    name: str | None
    amount_won: int
    ratio: str = Field(description="Share of the total, a decimal string with four places")


class PortfolioOut(Shape):
    virtual_account_number: str = Field(pattern=NUMBER_PATTERN)
    firm_code: str
    total_won: int
    cash_won: int
    cash_ratio: str
    securities_won: int
    securities_ratio: str
    by_instrument: list[MixOut]
    by_market: list[MixOut]
    by_sector: list[MixOut]
    as_of: datetime


class WatchlistInstrumentOut(Shape):
    code: str
    name_ko: str | None
    name_en: str | None


class WatchlistGroupOut(Shape):
    name: str
    instruments: list[WatchlistInstrumentOut]


class WatchlistOut(Shape):
    virtual_account_number: str = Field(pattern=NUMBER_PATTERN)
    firm_code: str
    groups: list[WatchlistGroupOut]


class IntegratedAccountOut(Shape):
    virtual_account_number: str = Field(pattern=NUMBER_PATTERN)
    firm_code: str
    alias: str
    status: FirmStatus
    balance: BalanceOut | None


class FirmStatusOut(Shape):
    firm_code: str
    status: FirmStatus = Field(description="ok when every account at the firm answered")


class IntegratedPortfolioOut(Shape):
    complete: bool = Field(description="true when every linked account answered")
    cash_won: int
    cash_second_day_won: int
    valuation_won: int
    cost_won: int
    profit_won: int
    profit_rate: str | None
    total_assets_won: int
    by_instrument: list[MixOut]
    by_firm: list[MixOut]
    firms: list[FirmStatusOut]
    accounts: list[IntegratedAccountOut]
    as_of: datetime


class InstrumentOut(Shape):
    code: str
    isin: str
    name_ko: str
    name_en: str
    market: str
    sector: str
    base_price_won: int
    price_limit_lower_won: int
    price_limit_upper_won: int


class QuoteOut(Shape):
    instrument: str
    last_price_won: int | None
    base_price_won: int
    bid_price_won: int | None = Field(description="Best bid: the highest price a buyer offers")
    bid_quantity: int | None
    ask_price_won: int | None = Field(description="Best ask: the lowest price a seller asks")
    ask_quantity: int | None
    phase: str | None
    trading_day: str | None
    sequence: int


class LevelOut(Shape):
    price_won: int
    quantity: int
    orders: int


class OrderBookOut(Shape):
    instrument: str
    bids: list[LevelOut] = Field(description="Buy side, best (highest) first")
    asks: list[LevelOut] = Field(description="Sell side, best (lowest) first")
    sequence: int


class CandleOut(Shape):
    start: datetime
    open_won: int
    high_won: int
    low_won: int
    close_won: int
    volume: int
    value_won: int


class CandlesOut(Shape):
    instrument: str
    interval: str
    candles: list[CandleOut]
