"""The KRX trading calendar: which days the market opens, and the settlement day of a trade.

Weekends are closed; so are the public holidays and market closures listed in
`data/krx_holidays.csv` (2025-2027, from the public holiday calendar and KRX's year-end closure;
KRX announces each year's closures in December, so the file needs a yearly update). A date outside
the listed years is refused rather than silently treated as open.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

from backbone.kit.check import invariant

SETTLEMENT_DAYS = 2  # T+2 (결제일): equities settle on the second trading day after the trade
WEEKEND = frozenset({5, 6})


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    name_ko: str
    name_en: str


class CalendarNotCovered(ValueError):
    """The calendar holds no data for this year; guessing would misdate settlements."""


@dataclass(frozen=True)
class TradingCalendar:
    holidays: frozenset[date]
    first_year: int
    last_year: int

    def _covered(self, day: date) -> None:
        if not self.first_year <= day.year <= self.last_year:
            raise CalendarNotCovered(
                f"the KRX calendar covers {self.first_year}-{self.last_year}, not {day.year}"
            )

    def is_trading_day(self, day: date) -> bool:
        self._covered(day)
        return day.weekday() not in WEEKEND and day not in self.holidays

    def next_trading_day(self, day: date) -> date:
        candidate = day + timedelta(days=1)
        while not self.is_trading_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def add_trading_days(self, day: date, count: int) -> date:
        invariant(count >= 0, "trading days are added forwards")
        result = day
        for _ in range(count):
            result = self.next_trading_day(result)
        return result

    def settlement_date(self, trade_date: date) -> date:
        """T+2: the second trading day after a trade made on a trading day."""
        invariant(self.is_trading_day(trade_date), f"{trade_date} is not a trading day")
        return self.add_trading_days(trade_date, SETTLEMENT_DAYS)


def parse_holidays(lines: list[str]) -> list[Holiday]:
    return [
        Holiday(date.fromisoformat(row["date"]), row["name_ko"], row["name_en"])
        for row in csv.DictReader(lines)
    ]


@cache
def krx_calendar() -> TradingCalendar:
    text = (
        resources.files("backbone.exchange").joinpath("data", "krx_holidays.csv").read_text(encoding="utf-8")
    )
    holidays = parse_holidays(text.splitlines())
    years = [holiday.day.year for holiday in holidays]
    return TradingCalendar(frozenset(holiday.day for holiday in holidays), min(years), max(years))
