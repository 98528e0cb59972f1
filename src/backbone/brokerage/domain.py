"""Securities firms, their customers and real accounts (실계좌), pure.

Each firm numbers its accounts its own way, as Korean brokerages do ("123-45-678901",
"5012-3456-01", ...). A firm's format is a pattern of slots:

    B  branch digit          N  serial digit          C  check digit (Luhn over all other digits)
    P  product digit (the account type's code)        -  a separator, shown but not stored

So "BBB-PP-NNNNNC" is an 11-digit number with a branch, a product code and a serial whose last
digit checks the rest. Numbers are stored as digits only and shown with the firm's separators;
a typed number is accepted with or without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from backbone.brokerage.errors import InvalidAccountNumber, InvalidAccountNumberFormat, InvalidFirmCode
from backbone.kit.check import invariant
from backbone.kit.money import MICRO_PER_SHARE

SLOT_KINDS = frozenset("BPNC")
ACCOUNT_NUMBER_DIGITS_MAX = 16
FIRM_CODE_LENGTH_MAX = 8


class AccountType(StrEnum):
    """Kinds of real account a firm opens; each has a two-digit product code (상품코드)."""

    GENERAL = "general"  # 종합매매 — the everyday trading account
    CMA = "cma"  # 자산관리계좌
    ISA = "isa"  # 개인종합자산관리계좌, tax-advantaged
    PENSION = "pension"  # 연금저축

    @property
    def product_code(self) -> str:
        return _PRODUCT_CODES[self]

    @property
    def name_ko(self) -> str:
        return _NAMES_KO[self]


_PRODUCT_CODES = {
    AccountType.GENERAL: "01",
    AccountType.CMA: "02",
    AccountType.ISA: "05",
    AccountType.PENSION: "06",
}
_NAMES_KO = {
    AccountType.GENERAL: "종합매매",
    AccountType.CMA: "CMA",
    AccountType.ISA: "ISA",
    AccountType.PENSION: "연금저축",
}


class AccountStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


def luhn_check_digit(digits: str) -> int:
    total = 0
    for index, character in enumerate(reversed(digits)):
        value = int(character) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class AccountNumberFormat:
    pattern: str

    def __post_init__(self) -> None:
        slots = [character for character in self.pattern if character != "-"]
        if (
            not slots
            or set(slots) - SLOT_KINDS
            or slots.count("C") != 1
            or slots.count("P") != 2
            or len(slots) > ACCOUNT_NUMBER_DIGITS_MAX
            or self.pattern.startswith("-")
            or self.pattern.endswith("-")
            or "--" in self.pattern
        ):
            raise InvalidAccountNumberFormat(
                f"{self.pattern!r} is not an account number pattern: use B, P (twice), N and one C, "
                f"with single '-' separators, at most {ACCOUNT_NUMBER_DIGITS_MAX} digits"
            )

    @property
    def slots(self) -> str:
        return self.pattern.replace("-", "")

    @property
    def length(self) -> int:
        return len(self.slots)

    @property
    def branch_digits(self) -> int:
        return self.slots.count("B")

    @property
    def serial_digits(self) -> int:
        return self.slots.count("N")

    def compose(self, *, branch: int, product_code: str, serial: int) -> str:
        """The stored digits of a new account number."""
        branch_text = f"{branch:0{self.branch_digits}d}" if self.branch_digits else ""
        serial_text = f"{serial:0{self.serial_digits}d}"
        invariant(len(branch_text) == self.branch_digits, f"branch {branch} does not fit {self.pattern}")
        invariant(len(serial_text) == self.serial_digits, f"serial {serial} does not fit {self.pattern}")
        sources = {"B": iter(branch_text), "P": iter(product_code), "N": iter(serial_text)}
        body = [next(sources[slot]) if slot != "C" else "" for slot in self.slots]
        check = luhn_check_digit("".join(body))
        return "".join(
            str(check) if slot == "C" else digit for slot, digit in zip(self.slots, body, strict=True)
        )

    def parse(self, text: str) -> str:
        """The stored digits of a number a person typed, or InvalidAccountNumber."""
        digits = text.strip().replace("-", "").replace(" ", "")
        if len(digits) != self.length or not digits.isdigit() or not digits.isascii():
            raise InvalidAccountNumber(f"{text!r} is not an account number of the form {self.pattern}")
        body = "".join(digit for slot, digit in zip(self.slots, digits, strict=True) if slot != "C")
        check = digits[self.slots.index("C")]
        if luhn_check_digit(body) != int(check):
            raise InvalidAccountNumber(f"{text!r} is not a valid account number: its check digit is wrong")
        return digits

    def display(self, digits: str) -> str:
        invariant(len(digits) == self.length, "stored account number does not fit its firm's format")
        shown = iter(digits)
        return "".join("-" if slot == "-" else next(shown) for slot in self.pattern)

    def product_code_of(self, digits: str) -> str:
        return "".join(digit for slot, digit in zip(self.slots, digits, strict=True) if slot == "P")


def ledger_owner(account_id: int) -> str:
    """The ledger owner standing for one brokerage account."""
    return f"account:{account_id}"


def firm_owner(firm_id: int) -> str:
    return f"firm:{firm_id}"


DEPOSITORY_OWNER = "depository"  # 한국예탁결제원's role: where securities enter and leave Backbone


@dataclass(frozen=True, slots=True)
class Firm:
    id: int
    code: str
    name_ko: str
    name_en: str
    account_number_format: AccountNumberFormat
    branch: int
    commission_ppm: int


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    firm_id: int
    customer_number: str
    name: str
    birth_date: date
    phone: str
    email: str | None
    personal_identifier: str | None


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    firm: Firm
    customer_id: int
    number: str  # digits
    account_type: AccountType
    alias: str
    status: AccountStatus
    opened_at: datetime

    @property
    def display_number(self) -> str:
        return self.firm.account_number_format.display(self.number)

    @property
    def owner(self) -> str:
        return ledger_owner(self.id)

    @property
    def is_active(self) -> bool:
        return self.status is AccountStatus.ACTIVE


def check_firm_code(code: str) -> str:
    if (
        not 2 <= len(code) <= FIRM_CODE_LENGTH_MAX
        or not code.isascii()
        or not code.isalnum()
        or code != code.upper()
    ):
        raise InvalidFirmCode(
            f"a firm code is 2 to {FIRM_CODE_LENGTH_MAX} upper-case letters or digits, got {code!r}"
        )
    return code


@dataclass(frozen=True, slots=True)
class Position:
    """Shares of one instrument in one account (micro-units), at the last price."""

    instrument: str
    available: int  # sellable: not held for open sell orders
    held: int  # held for open sell orders
    cost_won: int  # 매입금액: book cost of the whole holding
    last_price: int  # 현재가: today's last trade, else the base price

    @property
    def total(self) -> int:
        return self.available + self.held

    @property
    def average_price(self) -> int | None:
        """평균단가: won per share, rounded down; None without a holding."""
        return self.cost_won * MICRO_PER_SHARE // self.total if self.total else None

    @property
    def valuation_won(self) -> int:
        """평가금액 at the last price, rounded down to the won."""
        return self.total * self.last_price // MICRO_PER_SHARE

    @property
    def profit_won(self) -> int:
        """평가손익: valuation less book cost."""
        return self.valuation_won - self.cost_won


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """잔고: cash as a Korean brokerage shows it, and positions."""

    account_id: int
    cash_today: int  # 예수금: cash in the account today, including cash committed to unsettled buys
    cash_next_day: int  # D+1 예수금: after what settles on the next trading day
    cash_second_day: int  # D+2 예수금: after everything pending has settled
    cash_available: int  # not held for orders nor committed to settlements: what can buy
    cash_held: int  # held for open buy orders
    withdrawable: int  # 출금가능금액
    positions: tuple[Position, ...]

    @property
    def valuation_won(self) -> int:
        return sum(position.valuation_won for position in self.positions)

    @property
    def cost_won(self) -> int:
        return sum(position.cost_won for position in self.positions)

    @property
    def profit_won(self) -> int:
        return self.valuation_won - self.cost_won

    @property
    def total_assets_won(self) -> int:
        """추정자산: D+2 cash plus the positions at the last price."""
        return self.cash_second_day + self.valuation_won


class TransactionKind(StrEnum):
    """거래내역 line kinds."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    SECURITIES_IN = "securities_in"
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class TransactionLine:
    id: int
    account_id: int
    kind: TransactionKind
    occurred_at: datetime
    instrument: str | None
    quantity_micro: int | None
    price: int | None
    amount_won: int | None
    commission_won: int
    tax_won: int
    cash_won: int
    settlement_date: date | None
    memo: str
