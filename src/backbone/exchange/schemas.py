"""API shapes of the market's reference data."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backbone.exchange.instruments import Instrument, Market
from backbone.kit.money import tick_size


class InstrumentOut(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="6-digit short code (단축코드)", examples=["005930"])
    isin: str = Field(description="ISO 6166 standard code (표준코드)", examples=["KR7005930003"])
    name_ko: str
    name_en: str
    market: Market
    sector: str
    shares_listed: int
    base_price: int = Field(description="기준가격, won")
    price_limit_lower: int = Field(description="하한가: base price - 30%, on the tick grid")
    price_limit_upper: int = Field(description="상한가: base price + 30%, on the tick grid")
    tick_size: int = Field(description="호가단위 at the base price")

    @classmethod
    def of(cls, instrument: Instrument) -> InstrumentOut:
        lower, upper = instrument.price_limits
        return cls(
            code=instrument.code,
            isin=instrument.isin,
            name_ko=instrument.name_ko,
            name_en=instrument.name_en,
            market=instrument.market,
            sector=instrument.sector,
            shares_listed=instrument.shares_listed,
            base_price=instrument.base_price,
            price_limit_lower=lower,
            price_limit_upper=upper,
            tick_size=tick_size(instrument.base_price),
        )
