from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backbone.brokerage.domain import AccountNumberFormat, AccountType, luhn_check_digit
from backbone.brokerage.errors import InvalidAccountNumber, InvalidAccountNumberFormat

NH_STYLE = AccountNumberFormat("BBB-PP-NNNNNC")


def test_composed_number_shows_with_the_firms_separators() -> None:
    digits = NH_STYLE.compose(branch=101, product_code=AccountType.GENERAL.product_code, serial=15)
    assert len(digits) == 11
    assert NH_STYLE.display(digits).startswith("101-01-00015")
    assert NH_STYLE.product_code_of(digits) == "01"


def test_typed_number_is_accepted_with_or_without_hyphens() -> None:
    digits = NH_STYLE.compose(branch=7, product_code="05", serial=4321)
    assert NH_STYLE.parse(NH_STYLE.display(digits)) == digits
    assert NH_STYLE.parse(digits) == digits


def test_a_single_wrong_digit_fails_the_check_digit() -> None:
    digits = NH_STYLE.compose(branch=101, product_code="01", serial=99)
    wrong = digits[:-2] + str((int(digits[-2]) + 1) % 10) + digits[-1]
    with pytest.raises(InvalidAccountNumber, match="check digit"):
        NH_STYLE.parse(wrong)


@pytest.mark.parametrize("typed", ["", "12345", "101-01-00001A", "1010100001234567"])
def test_malformed_numbers_are_refused(typed: str) -> None:
    with pytest.raises(InvalidAccountNumber):
        NH_STYLE.parse(typed)


@pytest.mark.parametrize(
    "pattern", ["", "NNNN", "PP-NNNN", "C-PP-XNNN", "-PP-NNNC", "PP--NNNC", "P" * 2 + "N" * 20 + "C"]
)
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidAccountNumberFormat):
        AccountNumberFormat(pattern)


@given(serial=st.integers(min_value=0, max_value=99_999), branch=st.integers(min_value=0, max_value=999))
def test_every_composed_number_parses_back(serial: int, branch: int) -> None:
    digits = NH_STYLE.compose(branch=branch, product_code="01", serial=serial)
    assert NH_STYLE.parse(NH_STYLE.display(digits)) == digits


def test_luhn_check_digit_of_a_known_number() -> None:
    assert luhn_check_digit("7992739871") == 3  # the textbook example
