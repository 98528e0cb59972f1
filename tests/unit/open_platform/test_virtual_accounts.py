"""Virtual account numbers, pure: 18 digits with a Luhn check digit, drawn from the CSPRNG (never
from the real number), unique by drawing again on a collision, and checked before any lookup."""

from __future__ import annotations

import inspect
import itertools
import random

import pytest

from backbone.open_platform.errors import InvalidVirtualAccountNumber, LimitExceeded
from backbone.open_platform.virtual_accounts.domain import (
    ISSUE_ATTEMPTS_MAX,
    NUMBER_DIGITS,
    display_number,
    draw_free_number,
    is_well_formed,
    luhn_check_digit,
    new_number,
    parse_number,
)

DRAWS = 20_000


def test_numbers_are_eighteen_digits_with_a_valid_check_digit_and_no_leading_zero() -> None:
    for _ in range(2_000):
        number = new_number()
        assert len(number) == NUMBER_DIGITS and number.isdigit() and number[0] != "0"
        assert is_well_formed(number)


def test_a_mistyped_digit_or_swapped_neighbours_are_caught() -> None:
    number = new_number()
    for position in range(NUMBER_DIGITS):
        for digit in "0123456789":
            if digit != number[position]:
                assert not is_well_formed(number[:position] + digit + number[position + 1 :])
    for position in range(NUMBER_DIGITS - 1):
        a, b = number[position], number[position + 1]
        if a != b and {a, b} != {"0", "9"}:  # Luhn's one known blind spot
            assert not is_well_formed(number[:position] + b + a + number[position + 2 :])


def test_draws_do_not_repeat() -> None:
    drawn = [new_number() for _ in range(DRAWS)]
    assert len(set(drawn)) == DRAWS


def test_a_number_is_not_derivable_from_the_real_account_number() -> None:
    """Nothing about the real account goes in: the function takes only a random source, and the
    same random source gives the same number whatever account it is for."""
    assert list(inspect.signature(new_number).parameters) == ["random_below"]
    first = new_number(random.Random(42).randrange)
    assert first == new_number(random.Random(42).randrange)
    assert first != new_number(random.Random(43).randrange)
    # Numbers drawn for one account, one after another, share no structure: every position takes
    # (nearly) every digit.
    drawn = [new_number() for _ in range(2_000)]
    for position in range(1, NUMBER_DIGITS - 1):
        assert len({number[position] for number in drawn}) == 10


def test_a_collision_is_drawn_again_and_a_run_of_them_is_refused() -> None:
    taken = {new_number(random.Random(1).randrange)}
    seeds = itertools.count(1)
    source = random.Random(next(seeds))

    def random_below(n: int) -> int:
        return source.randrange(n)

    fresh = draw_free_number(lambda number: number in taken, random_below)
    assert fresh not in taken and is_well_formed(fresh)

    asked: list[str] = []

    def always_taken(number: str) -> bool:
        asked.append(number)
        return True

    with pytest.raises(LimitExceeded):
        draw_free_number(always_taken)
    assert len(asked) == ISSUE_ATTEMPTS_MAX


def test_parsing_accepts_grouping_and_refuses_anything_else() -> None:
    number = new_number()
    assert parse_number(display_number(number)) == number
    assert parse_number(f" {number[:9]} {number[9:]} ") == number
    wrong = number[:-1] + str((luhn_check_digit(number[:-1]) + 1) % 10)
    for text in (wrong, number[:-1], number + "0", "١" * 18, "", "abc"):
        with pytest.raises(InvalidVirtualAccountNumber):
            parse_number(text)
