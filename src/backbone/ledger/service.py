"""Ledger use cases. A service never commits: the caller's transaction boundary does, so a
product can post several transfers (an order's hold, a fill, its fee) in one atomic unit.

Every write goes through `posting.Poster` (one transfer is a batch of one); see that module for
the steps, and the triggers in migration 0001 for what the database re-checks by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

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

    def balances(self, session: Session, owner: str) -> dict[str, Balance]:
        by_asset: dict[str, dict[Purpose, int]] = {}
        for state in repository.owner_accounts(session, owner):
            invariant(
                state.minimum_balance is None or state.balance >= state.minimum_balance,
                f"ledger account {state.id} is below its minimum",
            )
            by_asset.setdefault(state.asset, {})[state.purpose] = state.balance
        return {asset: Balance(asset=asset, by_purpose=purposes) for asset, purposes in by_asset.items()}

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
        check_idempotency_key(idempotency_key)
        check_amount(amount)
        existing = repository.find_hold_by_key(session, _hold_key(idempotency_key))
        source = self.account(session, owner=owner, asset=asset, purpose=Purpose.AVAILABLE)
        held = self.account(session, owner=owner, asset=asset, purpose=Purpose.HELD)
        if existing is not None:
            return self._replay_hold(existing, source, amount, reference, idempotency_key)
        opening = HoldState(
            id=self._ids.next(),
            source_account_id=source.id,
            held_account_id=held.id,
            asset=asset,
            amount=amount,
            remaining=amount,
        )
        request = TransferRequest(
            idempotency_key=_hold_key(idempotency_key),
            kind=Kind.HOLD,
            legs=(Leg(source.id, asset, -amount), Leg(held.id, asset, amount)),
            reference=reference,
        )
        _raise_refusal(self._poster.post(session, [Entry(request, opening)])[0])
        stored = present(
            repository.find_hold_by_key(session, _hold_key(idempotency_key)),
            "a hold just written must be readable",
        )
        return self._replay_hold(stored, source, amount, reference, idempotency_key)

    @staticmethod
    def _replay_hold(
        stored: tuple[HoldState, str | None],
        source: AccountState,
        amount: int,
        reference: str | None,
        key: str,
    ) -> HoldState:
        hold, stored_reference = stored
        if (hold.source_account_id, hold.amount, stored_reference) != (source.id, amount, reference):
            raise IdempotencyKeyReused(f"the idempotency key {key!r} was already used for a different hold")
        return hold

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
        request = TransferRequest(
            idempotency_key=_release_key(idempotency_key),
            kind=Kind.RELEASE,
            legs=(
                Leg(hold.held_account_id, hold.asset, -amount),
                Leg(hold.source_account_id, hold.asset, amount),
            ),
            draws=(HoldDraw(hold_id, amount),),
        )
        _raise_refusal(self._poster.post(session, [Entry(request)])[0])
        return self._lock_holds(session, [hold_id])[hold_id]

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


def _raise_refusal(outcome: Outcome) -> Transfer:
    if isinstance(outcome, LedgerError):
        raise outcome
    return outcome
