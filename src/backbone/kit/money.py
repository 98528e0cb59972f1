"""Money, quantities and prices as integers, never floats.

- `Won`: an amount of Korean won (KRW has no minor unit in practice).
- `Quantity`: an amount of a security in micro-units, so that fractional shares (SYSTEM.md §8) are
  exact; whole-share trading simply uses multiples of `MICRO_PER_SHARE`.
- `Price`: won per share, positive, and the KRX tick table (호가가격단위) with daily price limits.

Constructors reject floats and bools outright: `Won(1.0)` and `Price(71500.0)` raise `TypeError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from backbone.errors import AmountOutOfRange, NotAWholeNumber
from backbone.kit.check import invariant

# A limit on everything: no single amount in Backbone may exceed these. 10**15 won is a thousand
# trillion won (1,000조), far above any real account; the bound keeps sums inside a signed 64-bit
# column with room to add many of them.
WON_ABSOLUTE_MAX = 10**15
MICRO_PER_SHARE = 1_000_000
QUANTITY_MICRO_ABSOLUTE_MAX = 10**15  # a billion shares in micro-units
PRICE_MAX = 100_000_000  # won per share; above any KRX listing's price limit


def _require_int(value: object, what: str) -> int:
    # bool is an int subclass; True won is a bug, not a payment.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def parse_integer(text: str, what: str) -> int:
    """Parse a decimal integer written by a person or a client: '71500', '71,500', '-3'.

    Raises NotAWholeNumber (with a message a person can read) for fractions, exponents or junk.
    """
    cleaned = text.strip().replace(",", "").replace("_", "")
    body = cleaned[1:] if cleaned[:1] in "+-" else cleaned
    if not body.isdigit() or not body.isascii():
        raise NotAWholeNumber(f"{what} must be a whole number, got {text!r}")
    return int(cleaned)


@dataclass(frozen=True, slots=True, order=True)
class Won:
    amount: int

    def __post_init__(self) -> None:
        _require_int(self.amount, "Won amount")
        if abs(self.amount) > WON_ABSOLUTE_MAX:
            raise AmountOutOfRange(f"{self.amount} won is beyond the limit of {WON_ABSOLUTE_MAX:,}")

    @classmethod
    def of(cls, text: str) -> Self:
        return cls(parse_integer(text, "an amount in won"))

    @classmethod
    def zero(cls) -> Self:
        return cls(0)

    def __add__(self, other: Won) -> Won:
        return Won(self.amount + other.amount)

    def __sub__(self, other: Won) -> Won:
        return Won(self.amount - other.amount)

    def __neg__(self) -> Won:
        return Won(-self.amount)

    def __mul__(self, factor: int) -> Won:
        return Won(self.amount * _require_int(factor, "factor"))

    def __bool__(self) -> bool:
        return self.amount != 0

    def __str__(self) -> str:
        return f"{self.amount:,}원"


@dataclass(frozen=True, slots=True, order=True)
class Quantity:
    """Securities held, in micro-units (1 share = 1,000,000 micro)."""

    micro: int

    def __post_init__(self) -> None:
        _require_int(self.micro, "Quantity micro-units")
        if abs(self.micro) > QUANTITY_MICRO_ABSOLUTE_MAX:
            raise AmountOutOfRange(
                f"{self.micro} micro-units is beyond the limit of {QUANTITY_MICRO_ABSOLUTE_MAX:,}"
            )

    @classmethod
    def shares(cls, count: int) -> Self:
        return cls(_require_int(count, "share count") * MICRO_PER_SHARE)

    @classmethod
    def zero(cls) -> Self:
        return cls(0)

    @property
    def is_whole(self) -> bool:
        return self.micro % MICRO_PER_SHARE == 0

    @property
    def whole_shares(self) -> int:
        """The number of whole shares, for venues that trade whole shares only."""
        invariant(self.is_whole, f"{self} is not a whole number of shares")
        return self.micro // MICRO_PER_SHARE

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.micro + other.micro)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.micro - other.micro)

    def __neg__(self) -> Quantity:
        return Quantity(-self.micro)

    def __bool__(self) -> bool:
        return self.micro != 0

    def __str__(self) -> str:
        whole, fraction = divmod(abs(self.micro), MICRO_PER_SHARE)
        sign = "-" if self.micro < 0 else ""
        if fraction == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{fraction:06d}".rstrip("0")


# KRX tick table for stocks, unified for KOSPI and KOSDAQ since 2023-01-25:
# (lower bound inclusive, tick size in won). Read from the top: the first bound at or below the
# price gives its tick.
KRX_TICK_TABLE: tuple[tuple[int, int], ...] = (
    (500_000, 1_000),
    (200_000, 500),
    (50_000, 100),
    (20_000, 50),
    (5_000, 10),
    (2_000, 5),
    (1, 1),
)
PRICE_LIMIT_PERCENT = 30


def tick_size(price: int) -> int:
    """The tick (호가단위) that applies at `price` won."""
    for lower_bound, tick in KRX_TICK_TABLE:
        if price >= lower_bound:
            return tick
    raise ValueError(f"no tick applies to a price of {price}")


def is_on_tick(price: int) -> bool:
    return price >= 1 and price % tick_size(price) == 0


def round_down_to_tick(price: int) -> int:
    return price - price % tick_size(price)


def round_up_to_tick(price: int) -> int:
    down = round_down_to_tick(price)
    if down == price:
        return price
    # Rounding up may cross into a band with a coarser tick; re-round in that band.
    candidate = down + tick_size(down)
    return candidate if is_on_tick(candidate) else round_up_to_tick(candidate)


def price_limits(base_price: int) -> tuple[int, int]:
    """Daily lower and upper limits (하한가, 상한가): base ± 30%, kept on the tick grid inside the band."""
    width = base_price * PRICE_LIMIT_PERCENT // 100
    upper = round_down_to_tick(base_price + width)
    lower = max(1, round_up_to_tick(base_price - width))
    return lower, upper


@dataclass(frozen=True, slots=True, order=True)
class Price:
    """Won per share: a positive integer no larger than PRICE_MAX."""

    won: int

    def __post_init__(self) -> None:
        _require_int(self.won, "Price")
        if not 1 <= self.won <= PRICE_MAX:
            raise AmountOutOfRange(f"a price must be between 1 and {PRICE_MAX:,} won, got {self.won}")

    @classmethod
    def of(cls, text: str) -> Self:
        return cls(parse_integer(text, "a price in won"))

    @property
    def tick(self) -> int:
        return tick_size(self.won)

    @property
    def is_on_tick(self) -> bool:
        return is_on_tick(self.won)

    def times(self, quantity: int) -> Won:
        """The value of `quantity` whole shares at this price."""
        return Won(self.won * _require_int(quantity, "quantity"))

    def __str__(self) -> str:
        return f"{self.won:,}"
