"""Ledger use cases. A service never commits: the caller's transaction boundary does, so a
product can post several transfers (an order's hold, a fill, its fee) in one atomic unit.

Every write goes through `posting.Poster` (one transfer is a batch of one); see that module for
the steps, and the triggers in migration 0001 for what the database re-checks by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy.orm import Session

from backbone.kit.check import invariant, present
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.pagination import Page, decode_cursor, encode_cursor, page_size
from backbone.ledger import repository
from backbone.ledger.domain import (
    INTERNAL_KINDS,
    AccountState,
    Balance,
    HistoryLine,
    HoldDraw,
    HoldState,
    Kind,
    Leg,
    Purpose,
    Transfer,
    TransferRequest,
    check_amount,
    check_idempotency_key,
)
from backbone.ledger.errors import IdempotencyKeyReused, LedgerError, UnknownAsset, UnknownHold
from backbone.ledger.posting import Entry, Outcome, Poster

AccountKey = tuple[str, str, Purpose]  # (owner, asset, purpose)


@dataclass(frozen=True, slots=True)
class HoldRequest:
    idempotency_key: str
    owner: str
    asset: str
    amount: int
    reference: str | None = None


class Ledger:
    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids
        self._poster = Poster(clock=clock, ids=ids)

    # --- accounts -------------------------------------------------------------------------------

    def account(
        self,
        session: Session,
        *,
        owner: str,
        asset: str,
        purpose: Purpose,
        minimum_balance: int | None = 0,
    ) -> AccountState:
        """The owner's account for this asset and purpose, opened on first use."""
        existing = repository.find_account(session, owner, asset, purpose)
        if existing is not None:
            return existing
        if not repository.asset_exists(session, asset):
            raise UnknownAsset(f"no asset {asset!r} is known to the ledger")
        repository.insert_account_if_missing(
            session,
            account_id=self._ids.next(),
            owner=owner,
            asset=asset,
            purpose=purpose,
            minimum_balance=minimum_balance,
            created_at=self._clock.now(),
        )
        return present(
            repository.find_account(session, owner, asset, purpose), "an account just opened must be readable"
        )

    def ensure_accounts(
        self, session: Session, wanted: Mapping[AccountKey, int | None]
    ) -> dict[AccountKey, AccountState]:
        """The accounts (owner, asset, purpose) -> minimum balance asks for, opening those that do
        not exist yet: two queries and one insert, however many accounts."""
        found = {
            key: state for key, state in self._accounts_of_owners(session, wanted).items() if key in wanted
        }
        missing = [key for key in wanted if key not in found]
        if not missing:
            return found
        unknown = {asset for _, asset, _ in missing} - self._known_assets(
            session, {asset for _, asset, _ in missing}
        )
        if unknown:
            raise UnknownAsset(f"no asset {min(unknown)!r} is known to the ledger")
        now = self._clock.now()
        repository.insert_accounts_if_missing(
            session,
            [
                {
                    "id": self._ids.next(),
                    "owner": owner,
                    "asset": asset,
                    "purpose": purpose.value,
                    "minimum_balance": wanted[(owner, asset, purpose)],
                    "balance": 0,
                    "created_at": now,
                }
                for owner, asset, purpose in missing
            ],
        )
        found.update(
            {key: state for key, state in self._accounts_of_owners(session, missing).items() if key in wanted}
        )
        invariant(all(key in found for key in wanted), "every account asked for is open")
        return found

    @staticmethod
    def _accounts_of_owners(session: Session, keys: Iterable[AccountKey]) -> dict[AccountKey, AccountState]:
        states = repository.accounts_of_owners(session, {owner for owner, _, _ in keys})
        return {(state.owner, state.asset, state.purpose): state for state in states}

    @staticmethod
    def _known_assets(session: Session, assets: set[str]) -> set[str]:
        return {asset for asset in assets if repository.asset_exists(session, asset)}

    def balances(self, session: Session, owner: str) -> dict[str, Balance]:
        return self.balances_of(session, [owner]).get(owner, {})

    def fingerprints(self, session: Session, owners: Iterable[str]) -> dict[str, tuple[int, int]]:
        """owner -> a pair that changes whenever a leg is posted to any of the owner's accounts
        (and only then): cheaper to read than the balances, to tell whether they moved."""
        return repository.fingerprints(session, owners)

    def balances_of(self, session: Session, owners: Iterable[str]) -> dict[str, dict[str, Balance]]:
        """owner -> asset -> balance (assets in code order), for several owners in one query."""
        by_owner: dict[str, dict[str, dict[Purpose, int]]] = {}
        states = sorted(repository.accounts_of_owners(session, owners), key=lambda state: state.asset)
        for state in states:
            invariant(
                state.minimum_balance is None or state.balance >= state.minimum_balance,
                f"ledger account {state.id} is below its minimum",
            )
            by_owner.setdefault(state.owner, {}).setdefault(state.asset, {})[state.purpose] = state.balance
        return {
            owner: {asset: Balance(asset=asset, by_purpose=purposes) for asset, purposes in by_asset.items()}
            for owner, by_asset in by_owner.items()
        }

    def balance(self, session: Session, owner: str, asset: str) -> Balance:
        return self.balances(session, owner).get(asset, Balance(asset=asset))

    def asset_exists(self, session: Session, code: str) -> bool:
        return repository.asset_exists(session, code)

    def register_assets(self, session: Session, assets: Iterable[tuple[str, str, str]]) -> int:
        """Make (code, kind, name) assets known to the ledger; existing ones keep their code."""
        return repository.upsert_assets(session, assets)

    # --- transfers ------------------------------------------------------------------------------

    def find_transfer(self, session: Session, idempotency_key: str) -> Transfer | None:
        """The transfer made under this key, if any."""
        found = repository.find_transfer_by_key(session, idempotency_key)
        return None if found is None else found[0]

    def transfer(self, session: Session, request: TransferRequest) -> Transfer:
        """Post one transfer, or raise the typed error that refuses it (nothing is written)."""
        check_idempotency_key(request.idempotency_key)
        return _raise_refusal(self._poster.post(session, [Entry(request)])[0])

    def transfer_many(self, session: Session, requests: Sequence[TransferRequest]) -> list[Outcome]:
        """Post a batch: each request's Transfer, or the typed error that refused it alone."""
        entries: list[Entry] = []
        refused: dict[int, LedgerError] = {}
        for index, request in enumerate(requests):
            try:
                check_idempotency_key(request.idempotency_key)
            except LedgerError as error:
                refused[index] = error
                continue
            entries.append(Entry(request))
        posted = iter(self._poster.post(session, entries))
        return [refused[index] if index in refused else next(posted) for index in range(len(requests))]

    @staticmethod
    def _lock_holds(session: Session, hold_ids: list[int]) -> dict[int, HoldState]:
        holds = repository.lock_holds(session, hold_ids)
        missing = set(hold_ids) - holds.keys()
        if missing:
            raise UnknownHold(f"no hold {min(missing)}")
        return holds

    # --- holds ----------------------------------------------------------------------------------

    def hold(
        self,
        session: Session,
        *,
        idempotency_key: str,
        owner: str,
        asset: str,
        amount: int,
        reference: str | None = None,
    ) -> HoldState:
        """Reserve `amount` of the owner's available balance (for an open order, say)."""
        outcome = self.hold_many(session, [HoldRequest(idempotency_key, owner, asset, amount, reference)])[0]
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def hold_many(self, session: Session, requests: Sequence[HoldRequest]) -> list[HoldState | LedgerError]:
        """Reserve many amounts with one posting; each request gets its hold, or the typed error
        that refused it alone. A key seen before returns its hold (or is refused if it differs)."""
        outcomes: list[HoldState | LedgerError | None] = [None] * len(requests)
        valid: list[int] = []
        for index, request in enumerate(requests):
            try:
                check_idempotency_key(request.idempotency_key)
                check_amount(request.amount)
            except LedgerError as error:
                outcomes[index] = error
                continue
            valid.append(index)
        wanted: dict[AccountKey, int | None] = {}
        for index in valid:
            request = requests[index]
            wanted[(request.owner, request.asset, Purpose.AVAILABLE)] = 0
            wanted[(request.owner, request.asset, Purpose.HELD)] = 0
        try:
            accounts = self.ensure_accounts(session, wanted)
        except UnknownAsset as error:
            return [error if outcome is None else outcome for outcome in outcomes]
        stored = repository.holds_by_keys(
            session, [_hold_key(requests[index].idempotency_key) for index in valid]
        )
        entries: list[tuple[int, Entry]] = []
        for index in valid:
            request = requests[index]
            source = accounts[(request.owner, request.asset, Purpose.AVAILABLE)]
            held = accounts[(request.owner, request.asset, Purpose.HELD)]
            replayed = stored.get(_hold_key(request.idempotency_key))
            if replayed is not None:
                outcomes[index] = _replayed_hold(replayed, source, request)
                continue
            opening = HoldState(
                id=self._ids.next(),
                source_account_id=source.id,
                held_account_id=held.id,
                asset=request.asset,
                amount=request.amount,
                remaining=request.amount,
            )
            transfer = TransferRequest(
                idempotency_key=_hold_key(request.idempotency_key),
                kind=Kind.HOLD,
                legs=(
                    Leg(source.id, request.asset, -request.amount),
                    Leg(held.id, request.asset, request.amount),
                ),
                reference=request.reference,
            )
            entries.append((index, Entry(transfer, opening)))
        posted = self._poster.post(session, [entry for _, entry in entries])
        for (index, entry), outcome in zip(entries, posted, strict=True):
            outcomes[index] = (
                outcome if isinstance(outcome, LedgerError) else present(entry.opening, "an opening")
            )
        answered: list[HoldState | LedgerError] = []
        for answer in outcomes:
            invariant(answer is not None, "every hold request is answered")
            answered.append(cast(HoldState | LedgerError, answer))
        return answered

    def holds_of(self, session: Session, references: Iterable[str]) -> dict[str, list[HoldState]]:
        """The holds of each reference, oldest first, with one query."""
        return repository.holds_of_references(session, references)

    @staticmethod
    def release_request(hold: HoldState, amount: int, idempotency_key: str) -> TransferRequest:
        """The transfer that gives `amount` of a hold back to its owner, for a batch posted with
        `transfer_many` beside other transfers (the draws keep the hold's remaining amount true)."""
        return TransferRequest(
            idempotency_key=_release_key(idempotency_key),
            kind=Kind.RELEASE,
            legs=(
                Leg(hold.held_account_id, hold.asset, -amount),
                Leg(hold.source_account_id, hold.asset, amount),
            ),
            draws=(HoldDraw(hold.id, amount),),
        )

    def release(
        self, session: Session, *, idempotency_key: str, hold_id: int, amount: int | None = None
    ) -> HoldState:
        """Give back `amount` (all that remains, by default) of a hold to the owner's available balance."""
        check_idempotency_key(idempotency_key)
        hold = self._lock_holds(session, [hold_id])[hold_id]
        if amount is None:
            if hold.remaining == 0:
                return hold  # "release whatever is left" of an empty hold: nothing to do
            amount = hold.remaining
        check_amount(amount, "release")
        _raise_refusal(
            self._poster.post(session, [Entry(self.release_request(hold, amount, idempotency_key))])[0]
        )
        return self._lock_holds(session, [hold_id])[hold_id]

    @staticmethod
    def remaining_holds(session: Session, *, reference_prefix: str) -> dict[str, list[HoldState]]:
        """Every hold with something left whose reference starts with the prefix, by reference."""
        return repository.remaining_holds(session, reference_prefix)

    def holds_for(self, session: Session, reference: str) -> list[HoldState]:
        return repository.holds_for_reference(session, reference)

    # --- history --------------------------------------------------------------------------------

    def history(
        self,
        session: Session,
        *,
        owner: str,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Iterable[Kind] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[HistoryLine]:
        size = page_size(limit)
        after = None
        if cursor is not None:
            transfer_id, asset = decode_cursor(cursor, types=(int, str))
            after = (int(transfer_id), str(asset))
        lines = repository.history(
            session,
            owner=owner,
            since=since,
            until=until,
            kinds=kinds,
            excluded_kinds=INTERNAL_KINDS,
            after=after,
            limit=size + 1,
        )
        has_more = len(lines) > size
        lines = lines[:size]
        next_cursor = encode_cursor([lines[-1].transfer_id, lines[-1].asset]) if has_more else None
        return Page(items=lines, next_cursor=next_cursor)


def _hold_key(key: str) -> str:
    return f"hold:{key}"


def _release_key(key: str) -> str:
    return f"release:{key}"


def _replayed_hold(
    stored: tuple[HoldState, str | None], source: AccountState, request: HoldRequest
) -> HoldState | LedgerError:
    hold, stored_reference = stored
    if (hold.source_account_id, hold.amount, stored_reference) != (
        source.id,
        request.amount,
        request.reference,
    ):
        key = request.idempotency_key
        return IdempotencyKeyReused(f"the idempotency key {key!r} was already used for a different hold")
    return hold


def _raise_refusal(outcome: Outcome) -> Transfer:
    if isinstance(outcome, LedgerError):
        raise outcome
    return outcome
