"""The portfolio chart of 통합계좌조회, drawn on the server as SVG: a donut of what the member holds
across firms (each instrument's valuation, and cash), with a legend that carries the same figures
as text, so the chart needs no script, no library from elsewhere and no colour to be read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backbone.open_platform.adapters.interface import FirmBalance

CASH = ""  # the slice of cash (D+2), named by the page in its language
SLICES_MAX = 7  # beyond these, the smallest holdings join one "others" slice
OTHERS = "*"
# Distinct at a glance and each ≥ 3:1 against white (WCAG 1.4.11, graphics).
PALETTE = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#57534e")


@dataclass(frozen=True, slots=True)
class Slice:
    label: str  # an instrument code, CASH or OTHERS
    value_won: int
    percent: float
    offset: float  # where the arc starts, in percent of the circle (the circle's length is 100)
    colour: str

    @property
    def dash(self) -> str:
        return f"{self.percent:.3f} {100 - self.percent:.3f}"

    @property
    def dash_offset(self) -> str:
        # SVG strokes start at three o'clock and run clockwise; a quarter back starts at noon.
        return f"{25 - self.offset:.3f}"


def portfolio_slices(balances: Iterable[FirmBalance]) -> list[Slice]:
    held: dict[str, int] = {}
    cash = 0
    for balance in balances:
        cash += max(0, balance.cash_second_day_won)
        for position in balance.positions:
            held[position.instrument] = held.get(position.instrument, 0) + max(0, position.valuation_won)
    ranked = sorted(((value, code) for code, value in held.items() if value > 0), reverse=True)
    parts = [(code, value) for value, code in ranked[:SLICES_MAX]]
    rest = sum(value for value, _code in ranked[SLICES_MAX:])
    if rest:
        parts.append((OTHERS, rest))
    if cash:
        parts.append((CASH, cash))
    total = sum(value for _label, value in parts)
    slices: list[Slice] = []
    offset = 0.0
    for index, (label, value) in enumerate(parts):
        percent = 100 * value / total
        slices.append(Slice(label, value, percent, offset, PALETTE[index % len(PALETTE)]))
        offset += percent
    return slices
