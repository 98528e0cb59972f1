from __future__ import annotations

import pytest

from backbone.errors import AmountOutOfRange, NotAWholeNumber
from backbone.kit.money import (
    MICRO_PER_SHARE,
    WON_ABSOLUTE_MAX,
    Price,
    Quantity,
    Won,
    is_on_tick,
    price_limits,
    round_down_to_tick,
    round_up_to_tick,
    tick_size,
)


def test_won_refuses_floats_and_bools() -> None:
    with pytest.raises(TypeError):
        Won(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Won(True)


def test_price_refuses_a_float_even_when_whole() -> None:
    with pytest.raises(TypeError):
        Price(71500.0)  # type: ignore[arg-type]


def test_won_beyond_the_limit_is_refused_with_a_typed_error() -> None:
    with pytest.raises(AmountOutOfRange):
        Won(WON_ABSOLUTE_MAX + 1)


@pytest.mark.parametrize("text", ["1500.5", "1e3", "", "abc", "١٢٣"])
def test_parsing_won_refuses_anything_but_a_whole_number(text: str) -> None:
    with pytest.raises(NotAWholeNumber):
        Won.of(text)


def test_parsing_won_accepts_thousands_separators() -> None:
    assert Won.of("71,500") == Won(71500)


def test_won_arithmetic_stays_in_won() -> None:
    assert Won(1000) + Won(500) - Won(200) == Won(1300)
    assert Won(700) * 3 == Won(2100)
    assert str(Won(1234567)) == "1,234,567원"


def test_quantity_in_micro_units_keeps_fractional_shares_exact() -> None:
    half = Quantity(MICRO_PER_SHARE // 2)
    assert str(half + half) == "1"
    assert str(Quantity.shares(3) + half) == "3.5"
    assert not half.is_whole
    assert Quantity.shares(7).whole_shares == 7


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (1, 1),
        (1_999, 1),
        (2_000, 5),
        (4_995, 5),
        (5_000, 10),
        (19_990, 10),
        (20_000, 50),
        (49_950, 50),
        (50_000, 100),
        (199_900, 100),
        (200_000, 500),
        (499_500, 500),
        (500_000, 1_000),
        (1_500_000, 1_000),
    ],
)
def test_krx_tick_table_at_each_band_boundary(price: int, tick: int) -> None:
    assert tick_size(price) == tick


def test_prices_on_and_off_the_tick_grid() -> None:
    assert is_on_tick(71_500)
    assert not is_on_tick(71_550)
    assert not is_on_tick(0)


def test_rounding_up_across_a_band_boundary_lands_on_the_coarser_grid() -> None:
    assert round_up_to_tick(49_990) == 50_000
    assert round_up_to_tick(199_950) == 200_000
    assert round_down_to_tick(71_550) == 71_500


def test_price_limits_are_thirty_percent_inside_the_grid() -> None:
    # 71,500 x 1.3 = 92,950 -> 92,900 (tick 100); 71,500 x 0.7 = 50,050 -> 50,100
    assert price_limits(71_500) == (50_100, 92_900)
    # 1,000 -> 700 .. 1,300 exactly
    assert price_limits(1_000) == (700, 1_300)


def test_price_value_of_shares_is_won() -> None:
    assert Price.of("71500").times(10) == Won(715_000)
    with pytest.raises(AmountOutOfRange):
        Price(0)
