"""Commission and securities transaction tax, in whole won. Pure.

Rates are integers in parts per million, never floats: 0.015% commission is 150 ppm, 0.20% tax is
2,000 ppm. Rounding follows Korean brokerages: commission is cut below 10 won (10원 미만 절사),
tax below 1 won (원 미만 절사) — both in the customer's favour, never rounded up.

The securities transaction tax (증권거래세, with the rural special tax on KOSPI) is charged on
sells only, on the sale amount. Its rate is a setting because the law changes it (2.0‰ from 2026
by the 2025 amendment); commission is set per firm.
"""

from __future__ import annotations

from dataclasses import dataclass

from backbone.kit.check import invariant

PPM = 1_000_000
COMMISSION_PPM_MAX = 10_000  # 1%: far above any online brokerage's rate
TAX_PPM_MAX = 10_000
COMMISSION_UNIT_WON = 10


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    commission_ppm: int
    tax_ppm: int

    def __post_init__(self) -> None:
        invariant(0 <= self.commission_ppm <= COMMISSION_PPM_MAX, "commission rate out of range")
        invariant(0 <= self.tax_ppm <= TAX_PPM_MAX, "tax rate out of range")

    def commission(self, gross_won: int) -> int:
        raw = gross_won * self.commission_ppm // PPM
        return raw - raw % COMMISSION_UNIT_WON

    def tax(self, gross_won: int) -> int:
        return gross_won * self.tax_ppm // PPM

    def buy_cost(self, gross_won: int) -> int:
        """What a buy of this value takes from the account: the price plus commission."""
        return gross_won + self.commission(gross_won)

    def sell_proceeds(self, gross_won: int) -> int:
        """What a sale of this value pays into the account: the price less commission and tax."""
        return gross_won - self.commission(gross_won) - self.tax(gross_won)
