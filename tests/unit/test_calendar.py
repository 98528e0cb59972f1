from __future__ import annotations

from datetime import date

import pytest

from backbone.exchange.calendar import CalendarNotCovered, krx_calendar


def test_weekends_and_holidays_are_closed() -> None:
    calendar = krx_calendar()
    assert calendar.is_trading_day(date(2026, 11, 23))  # a Monday
    assert not calendar.is_trading_day(date(2026, 11, 28))  # Saturday
    assert not calendar.is_trading_day(date(2026, 9, 25))  # Chuseok
    assert not calendar.is_trading_day(date(2026, 12, 31))  # year-end closure


def test_settlement_is_the_second_trading_day_after_the_trade() -> None:
    calendar = krx_calendar()
    assert calendar.settlement_date(date(2026, 11, 23)) == date(2026, 11, 25)  # Mon -> Wed
    assert calendar.settlement_date(date(2026, 11, 26)) == date(2026, 11, 30)  # Thu -> Mon
    assert calendar.settlement_date(date(2026, 9, 23)) == date(2026, 9, 29)  # over Chuseok and a weekend
    assert calendar.settlement_date(date(2026, 12, 30)) == date(2027, 1, 5)  # over the year-end closures


def test_a_year_the_calendar_does_not_cover_is_refused() -> None:
    with pytest.raises(CalendarNotCovered):
        krx_calendar().is_trading_day(date(2031, 1, 2))
