"""The double-entry kernel, pure: no database, no web, no clock.

Every movement of any asset is a `Transfer` of two or more `Leg`s whose amounts sum to zero per
asset. A ledger account holds exactly one asset and may have a floor (a minimum balance): customer
accounts have a floor of 0, accounts that stand for the world outside Backbone (a firm's bank
account, the securities depository) have none and go negative as value flows in.

Holds reserve an amount for an open order by moving it from the owner's `available` account to
the owner's `held` account; a release moves it back; a draw spends it in a transfer. So holds are
transfers too, and every balance, held or not, is the sum of legs.

Amounts are integers in the asset's smallest unit: won for KRW, micro-shares for securities.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from backbone.kit.check import invariant
from backbone.ledger.errors import (
    AmountNotPositive,
    AmountTooLarge,
    DrawDoesNotMatchLegs,
    InsufficientFunds,
    InvalidIdempotencyKey,
    TooManyLegs,
    UnbalancedTransfer,
)

CASH = "KRW"
AMOUNT_MAX = 10**15  # per leg, in the asset's smallest unit (10^15 won; 10^9 shares in micro-units)
LEGS_PER_TRANSFER_MAX = 32
IDEMPOTENCY_KEY_LENGTH_MAX = 100  # callers' keys; the ledger prefixes its own derived keys
MEMO_LENGTH_MAX = 200


class Purpose(StrEnum):
    """What a ledger account is for. Each owner has at most one account per asset and purpose."""

    AVAILABLE = "available"  # the owner's free balance
    HELD = "held"  # reserved for open orders; moves only through holds
    RECEIVABLE = "receivable"  # owed to the owner, not yet settled
    PAYABLE = "payable"  # committed by the owner, not yet settled
    BANK = "bank"  # a firm's bank account: the world's cash entering and leaving
    ISSUANCE = "issuance"  # the depository: securities entering and leaving Backbone
    CLEARING = "clearing"  # the central counterparty between trade and settlement
    REVENUE = "revenue"  # a firm's commission income
    TAX = "tax"  # taxes withheld, owed to the tax authority


class Kind(StrEnum):
    """Why a transfer happened; shown in transaction history."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    SECURITIES_IN = "securities_in"
    SECURITIES_OUT = "securities_out"
    HOLD = "hold"
    RELEASE = "release"
    BUY = "buy"
    SELL = "sell"
    FEE = "fee"
    TAX = "tax"
    DIVIDEND = "dividend"
    SETTLEMENT = "settlement"


INTERNAL_KINDS = frozenset({Kind.HOLD, Kind.RELEASE})


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: int
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class HoldDraw:
    """Spend part of a hold in a transfer: the transfer must take `amount` out of the hold's account."""

    hold_id: int
    amount: int


@dataclass(frozen=True, slots=True)
class TransferRequest:
    idempotency_key: str
    kind: Kind
    legs: tuple[Leg, ...]
    memo: str = ""
    reference: str | None = None
    draws: tuple[HoldDraw, ...] = ()

    def fingerprint(self) -> str:
        """A digest of everything but the key: a retry with the same key must match it exactly."""
        canonical = {
            "kind": str(self.kind),
            "legs": sorted([leg.account_id, leg.asset, leg.amount] for leg in self.legs),
            "memo": self.memo,
            "reference": self.reference,
            "draws": sorted([draw.hold_id, draw.amount] for draw in self.draws),
        }
        encoded = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True, slots=True)
class AccountState:
    id: int
    owner: str
    asset: str
    purpose: Purpose
    balance: int
    minimum_balance: int | None  # None: no floor


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    idempotency_key: str
    kind: Kind
    legs: tuple[Leg, ...]
    occurred_at: datetime
    memo: str = ""
    reference: str | None = None

    def __post_init__(self) -> None:
        # Re-checked on every read: a transfer that does not net to zero is corruption.
        invariant(is_balanced(self.legs), f"transfer {self.id} read from storage does not net to zero")


@dataclass(frozen=True, slots=True)
class StagedWrite:
    """An accepted transfer waiting to be written with the rest of its batch."""

    transfer: Transfer
    fingerprint: str
    movements: dict[int, int]  # hold id -> signed change of its remaining amount
    opening: HoldState | None  # a hold this transfer opens


@dataclass(frozen=True, slots=True)
class HoldState:
    id: int
    source_account_id: int
    held_account_id: int
    asset: str
    amount: int
    remaining: int


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One asset's net movement for one owner in one transfer: a row of 거래내역."""

    transfer_id: int
    occurred_at: datetime
    kind: Kind
    asset: str
    amount: int
    memo: str
    reference: str | None


@dataclass(frozen=True, slots=True)
class Balance:
    """One owner's position in one asset, by purpose."""

    asset: str
    by_purpose: Mapping[Purpose, int] = field(default_factory=dict)

    @property
    def available(self) -> int:
        return self.by_purpose.get(Purpose.AVAILABLE, 0)

    @property
    def held(self) -> int:
        return self.by_purpose.get(Purpose.HELD, 0)

    @property
    def total(self) -> int:
        return sum(self.by_purpose.values())


def check_idempotency_key(key: str) -> str:
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_LENGTH_MAX or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"an idempotency key is 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters"
        )
    return key


def check_amount(amount: int, what: str = "amount") -> int:
    """A positive amount inside the limit, or a typed error."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"{what} must be an int")
    if amount <= 0:
        raise AmountNotPositive(f"the {what} must be positive, got {amount}")
    if amount > AMOUNT_MAX:
        raise AmountTooLarge(f"the {what} {amount} exceeds the limit of {AMOUNT_MAX}")
    return amount


def sums_by_asset(legs: Iterable[Leg]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        totals[leg.asset] += leg.amount
    return dict(totals)


def is_balanced(legs: Iterable[Leg]) -> bool:
    legs = tuple(legs)
    return len(legs) >= 2 and all(total == 0 for total in sums_by_asset(legs).values())


def validate_transfer(request: TransferRequest) -> None:
    """Everything about a transfer that can be checked without reading storage."""
    if len(request.legs) > LEGS_PER_TRANSFER_MAX:
        raise TooManyLegs(f"a transfer has at most {LEGS_PER_TRANSFER_MAX} legs")
    for leg in request.legs:
        if leg.amount == 0:
            raise AmountNotPositive("a leg may not move zero")
        check_amount(abs(leg.amount), "leg amount")
    for draw in request.draws:
        check_amount(draw.amount, "hold draw")
    if not is_balanced(request.legs):
        raise UnbalancedTransfer("the legs of a transfer must sum to zero for each asset")


def apply_legs(accounts: Mapping[int, AccountState], legs: Iterable[Leg]) -> dict[int, int]:
    """The balances after the legs, or InsufficientFunds if any account would fall below its floor.

    The caller has already checked that every leg's account exists and holds the leg's asset.
    """
    balances = {account_id: state.balance for account_id, state in accounts.items()}
    for leg in legs:
        balances[leg.account_id] += leg.amount
    for account_id, balance in balances.items():
        floor = accounts[account_id].minimum_balance
        if floor is not None and balance < floor:
            state = accounts[account_id]
            raise InsufficientFunds(
                f"the account holds {state.balance - floor} {state.asset} that can be used; "
                f"{state.balance - balance} is needed",
                asset=state.asset,
                usable=state.balance - floor,
                needed=state.balance - balance,
            )
    return balances


def check_draws(
    legs: Iterable[Leg],
    draws: Iterable[HoldDraw],
    holds: Mapping[int, HoldState],
    held_account_ids: Set[int],
    opening: HoldState | None = None,
) -> None:
    """Held accounts move only through holds: each must give up exactly what is drawn from the
    holds on it (and take in exactly what a hold being opened reserves), and no hold may give
    more than it has left."""
    per_hold: dict[int, int] = defaultdict(int)
    for draw in draws:
        per_hold[draw.hold_id] += draw.amount
    drawn: dict[int, int] = defaultdict(int)
    for hold_id, amount in per_hold.items():
        hold = holds[hold_id]
        if amount > hold.remaining:
            raise DrawDoesNotMatchLegs(f"hold {hold.id} has {hold.remaining} left; {amount} cannot be drawn")
        drawn[hold.held_account_id] += amount
    if opening is not None:
        drawn[opening.held_account_id] -= opening.amount
    moved: dict[int, int] = defaultdict(int)
    for leg in legs:
        if leg.account_id in held_account_ids:
            moved[leg.account_id] += leg.amount
    for account_id in drawn.keys() | moved.keys():
        if moved[account_id] != -drawn[account_id]:
            raise DrawDoesNotMatchLegs(
                f"the transfer moves {-moved[account_id]} out of held account {account_id}, "
                f"but draws {drawn[account_id]} from its holds"
            )
