"""What a firm adapter offers, in the platform's own shapes: the same for every firm.

Every call names the person (their 88-character personal identifier) as well as the account, and
the firm answers only for that person's own accounts: a mapping bug in the platform cannot show
one person's assets to another (MyData's launch failure), because the firm checks too.

Amounts are integer won; quantities are integer micro-shares (1 share = 1,000,000); a value the
firm does not have is None, never 0 or "".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from backbone.errors import BackboneError


class Capability(StrEnum):
    LIST_ACCOUNTS = "list_accounts"  # the firm lists a person's accounts (else they are typed)
    BALANCE = "balance"
    TRANSACTIONS = "transactions"
    PORTFOLIO = "portfolio"
    WATCHLIST = "watchlist"


ALL_CAPABILITIES = frozenset(Capability)


class TransactionKind(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    SECURITIES_IN = "securities_in"
    BUY = "buy"
    SELL = "sell"


class FirmError(BackboneError):
    """A firm failed to answer (transport, timeout, a 5xx, a malformed answer): worth a retry."""

    status_code = 503
    code = "platform.firm_error"
    title = "The securities firm failed to answer"


class FirmRefusal(BackboneError):
    """The firm answered, and the answer is no (unknown account, not this person's): not retried."""

    status_code = 404
    code = "platform.firm_refused"
    title = "The securities firm refused"


class FirmRejectedCursor(FirmRefusal):
    """The firm does not recognise the page cursor: the app sent a bad one, the firm is fine
    (the platform answers 422 backbone.invalid_cursor)."""


@dataclass(frozen=True, slots=True)
class FirmAccount:
    number: str  # the firm's real number, digits only: stays inside the platform
    display_number: str
    account_type: str
    alias: str


@dataclass(frozen=True, slots=True)
class FirmPosition:
    instrument: str
    quantity_micro: int
    sellable_micro: int
    average_price_won: int | None
    cost_won: int
    last_price_won: int | None
    valuation_won: int
    profit_won: int


@dataclass(frozen=True, slots=True)
class FirmBalance:
    cash_won: int  # 예수금
    cash_next_day_won: int  # D+1
    cash_second_day_won: int  # D+2
    withdrawable_won: int
    buying_power_won: int
    positions: tuple[FirmPosition, ...]

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
        return self.cash_second_day_won + self.valuation_won


@dataclass(frozen=True, slots=True)
class LocalBalanceRequest:
    """One account at one of this installation's firms, asked for with its holder's CI."""

    firm_code: str
    personal_identifier: str
    number: str


@dataclass(frozen=True, slots=True)
class FirmTransaction:
    id: str
    occurred_at: datetime
    kind: TransactionKind
    instrument: str | None
    quantity_micro: int | None
    price_won: int | None
    amount_won: int | None
    commission_won: int
    tax_won: int
    cash_won: int
    settlement_date: date | None
    memo: str


@dataclass(frozen=True, slots=True)
class FirmTransactionPage:
    items: tuple[FirmTransaction, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class FirmWatchlistGroup:
    name: str
    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TransactionQuery:
    since: datetime | None
    until: datetime | None
    kinds: tuple[TransactionKind, ...] | None
    cursor: str | None
    limit: int


class FirmAdapter(Protocol):
    """One securities firm. Raise FirmRefusal for a definite no, FirmError for a failure."""

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    def accounts(self, personal_identifier: str) -> list[FirmAccount]: ...

    def account(self, personal_identifier: str, number: str) -> FirmAccount: ...

    def balance(self, personal_identifier: str, number: str) -> FirmBalance: ...

    def transactions(
        self, personal_identifier: str, number: str, query: TransactionQuery
    ) -> FirmTransactionPage: ...

    def watchlist(self, personal_identifier: str, number: str) -> list[FirmWatchlistGroup]: ...
