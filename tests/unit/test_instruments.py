from __future__ import annotations

import pytest

from backbone.exchange.instruments import (
    Market,
    is_valid_isin,
    isin_check_digit,
    load_instruments,
    parse_instruments,
)
from backbone.kit.money import is_on_tick

HEADER = "code,isin,name_ko,name_en,market,sector,shares_listed,base_price"


def test_the_master_holds_at_least_fifty_real_listings_on_both_markets() -> None:
    instruments = load_instruments()
    assert len(instruments) >= 50
    markets = {item.market for item in instruments.values()}
    assert markets == {Market.KOSPI, Market.KOSDAQ}
    assert instruments["005930"].isin == "KR7005930003"
    assert instruments["005930"].name_en == "Samsung Electronics"
    assert all(is_on_tick(item.base_price) for item in instruments.values())


@pytest.mark.parametrize(
    "isin", ["KR7005930003", "KR7000660001", "KR7035420009", "US0378331005", "KR7373220003"]
)
def test_published_isins_pass_the_check_digit(isin: str) -> None:
    assert is_valid_isin(isin)
    assert isin_check_digit(isin[:11]) == int(isin[-1])


def test_a_row_with_a_wrong_isin_check_digit_is_refused() -> None:
    with pytest.raises(ValueError, match="ISIN"):
        parse_instruments([HEADER, "005930,KR7005930004,삼성전자,Samsung Electronics,KOSPI,IT,1,71500"])


def test_a_base_price_off_the_tick_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="tick"):
        parse_instruments([HEADER, "005930,KR7005930003,삼성전자,Samsung Electronics,KOSPI,IT,1,71550"])


def test_a_code_listed_twice_is_refused() -> None:
    row = "005930,KR7005930003,삼성전자,Samsung Electronics,KOSPI,IT,1,71500"
    with pytest.raises(ValueError, match="twice"):
        parse_instruments([HEADER, row, row])
