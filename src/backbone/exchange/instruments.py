"""The instrument master: real KRX listings shipped as data (`data/instruments.csv`).

Codes, ISINs, names, markets and sectors are those of real KOSPI and KOSDAQ listings; share counts
are approximate (about mid-2024) and base prices are demo values on the tick grid. Pure: loading
validates every row (ISIN check digit, tick grid, positive counts) and raises on a bad file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from backbone.kit.money import is_on_tick, price_limits

DATA_FILE = "instruments.csv"
CODE_LENGTH = 6


class Market(StrEnum):
    KOSPI = "KOSPI"
    KOSDAQ = "KOSDAQ"


@dataclass(frozen=True, slots=True)
class Instrument:
    code: str  # 6-digit short code (단축코드)
    isin: str  # 12-character standard code (표준코드)
    name_ko: str
    name_en: str
    market: Market
    sector: str
    shares_listed: int
    base_price: int  # 기준가격, won

    @property
    def price_limits(self) -> tuple[int, int]:
        return price_limits(self.base_price)


def isin_check_digit(payload: str) -> int:
    """ISO 6166 check digit of the first 11 characters of an ISIN (letters count as 10-35)."""
    digits = "".join(str(int(character, 36)) for character in payload)
    total = 0
    for index, character in enumerate(reversed(digits)):
        value = int(character) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def is_valid_isin(isin: str) -> bool:
    return (
        len(isin) == 12
        and isin[:2].isalpha()
        and isin.isalnum()
        and isin.isascii()
        and isin[-1].isdigit()
        and isin_check_digit(isin[:11].upper()) == int(isin[-1])
    )


def parse_instrument(row: Mapping[str, str]) -> Instrument:
    code = row["code"]
    if len(code) != CODE_LENGTH or not code.isdigit():
        raise ValueError(f"instrument code {code!r} is not 6 digits")
    if not is_valid_isin(row["isin"]) or row["isin"][3:9] != code:
        raise ValueError(f"instrument {code}: ISIN {row['isin']!r} is not valid for this code")
    base_price = int(row["base_price"])
    if not is_on_tick(base_price):
        raise ValueError(f"instrument {code}: base price {base_price} is off the tick grid")
    shares_listed = int(row["shares_listed"])
    if shares_listed <= 0:
        raise ValueError(f"instrument {code}: shares listed must be positive")
    return Instrument(
        code=code,
        isin=row["isin"],
        name_ko=row["name_ko"],
        name_en=row["name_en"],
        market=Market(row["market"]),
        sector=row["sector"],
        shares_listed=shares_listed,
        base_price=base_price,
    )


def parse_instruments(lines: Iterable[str]) -> dict[str, Instrument]:
    instruments: dict[str, Instrument] = {}
    for row in csv.DictReader(lines):
        instrument = parse_instrument(row)
        if instrument.code in instruments:
            raise ValueError(f"instrument {instrument.code} appears twice")
        instruments[instrument.code] = instrument
    return instruments


def load_instruments() -> dict[str, Instrument]:
    """The shipped master, by code, in file order."""
    text = resources.files("backbone.exchange").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse_instruments(text.splitlines())
