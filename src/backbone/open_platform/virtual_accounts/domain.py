"""Virtual accounts (가상계좌), pure: an 18-digit number standing for one real account at one firm.

The number is 17 random digits (from the operating system's CSPRNG, the first never 0) and a Luhn
check digit: it carries nothing of the real number, the firm or the member, is not sequential,
and a mistyped digit is caught before any lookup. Uniqueness is the database's (a unique index);
the issuing service draws again on the rare collision.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from backbone.open_platform.errors import InvalidAlias, InvalidVirtualAccountNumber, LimitExceeded

NUMBER_DIGITS = 18
ALIAS_LENGTH_MAX = 40
VIRTUAL_ACCOUNTS_PER_MEMBER_MAX = 100
ISSUE_ATTEMPTS_MAX = 8  # draws before giving up on a collision (never expected past the first)


class VirtualAccountStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class IssueSource(StrEnum):
    LISTED = "listed"  # the firm listed the member's own accounts; the member chose one
    TYPED = "typed"  # the member typed the real number and an alias; the firm confirmed it


def luhn_check_digit(digits: str) -> int:
    total = 0
    for index, character in enumerate(reversed(digits)):
        value = int(character) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def new_number(random_below: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh number; `random_below(n)` is the CSPRNG in production (a test may inject another)."""
    body = str(1 + random_below(9)) + "".join(str(random_below(10)) for _ in range(NUMBER_DIGITS - 2))
    return body + str(luhn_check_digit(body))


def draw_free_number(
    is_taken: Callable[[str], bool], random_below: Callable[[int], int] = secrets.randbelow
) -> str:
    """A fresh number no account holds yet: drawn again on a collision, a bounded number of times."""
    for _ in range(ISSUE_ATTEMPTS_MAX):
        number = new_number(random_below)
        if not is_taken(number):
            return number
    raise LimitExceeded("could not draw a free virtual account number; try again")


def is_well_formed(number: str) -> bool:
    return (
        len(number) == NUMBER_DIGITS
        and number.isascii()
        and number.isdigit()
        and luhn_check_digit(number[:-1]) == int(number[-1])
    )


def parse_number(text: str) -> str:
    """The digits of a virtual account number as a client sent it ('-' and spaces allowed)."""
    digits = text.strip().replace("-", "").replace(" ", "")
    if not is_well_formed(digits):
        raise InvalidVirtualAccountNumber(f"{text[:40]!r} is not a virtual account number")
    return digits


def display_number(number: str) -> str:
    """Grouped for people: 1234-5678-9012-345678."""
    return f"{number[:4]}-{number[4:8]}-{number[8:12]}-{number[12:]}"


def check_alias(alias: str) -> str:
    cleaned = " ".join(alias.split())
    if len(cleaned) > ALIAS_LENGTH_MAX or any(not character.isprintable() for character in cleaned):
        raise InvalidAlias(f"an alias has at most {ALIAS_LENGTH_MAX} printable characters")
    return cleaned


@dataclass(frozen=True, slots=True)
class VirtualAccount:
    id: int
    number: str
    member_id: int
    firm_id: int
    firm_code: str
    real_number: str  # for the firm adapter only; no API shape has this field
    alias: str
    account_type: str
    source: IssueSource
    status: VirtualAccountStatus
    issued_at: datetime

    @property
    def is_active(self) -> bool:
        return self.status is VirtualAccountStatus.ACTIVE
