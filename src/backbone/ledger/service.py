"""Ledger use cases. A service never commits: the caller's transaction boundary does, so a
product can post several transfers (an order's hold, a fill, its fee) in one atomic unit.

The write path, for every transfer:
1. validate what can be validated without storage (pure domain);
2. return the stored transfer if the idempotency key was seen (same body) or refuse (different body);
3. lock the accounts in id order, check assets, holds and floors against the locked balances;
4. write legs, then the sealing transfer row, inside a savepoint; a twin request racing on the
   same key loses at the unique index and is answered with the winner's transfer.
The database then re-checks the sum and the floors itself (triggers and CHECK constraints).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backbone.kit.check import invariant, present
from backbone.kit.clock import Clock
from backbone.kit.db import writers_are_serialised
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
    apply_legs,
    check_amount,
    check_draws,
    check_idempotency_key,
    validate_transfer,
)
from backbone.ledger.errors import (
    AssetMismatch,
    IdempotencyKeyReused,
    UnknownAsset,
    UnknownHold,
    UnknownLedgerAccount,
)


class Ledger:
    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

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
        check_idempotency_key(request.idempotency_key)
        return self._post(session, request)

    def _post(
        self, session: Session, request: TransferRequest, *, opening: HoldState | None = None
    ) -> Transfer:
        validate_transfer(request)
        fingerprint = request.fingerprint()
        accounts = self._lock_accounts(session, request.legs)
        # Looked up only once the locks are held: a twin request that held them has committed.
        replayed = self._replay(session, request.idempotency_key, fingerprint)
        if replayed is not None:
            return replayed
        holds = self._lock_holds(session, [draw.hold_id for draw in request.draws]) if request.draws else {}
        held_ids = {state.id for state in accounts.values() if state.purpose is Purpose.HELD}
        check_draws(request.legs, request.draws, holds, held_ids, opening)
        apply_legs(accounts, request.legs)
        return self._write(session, request, fingerprint, opening)

    def _write(
        self, session: Session, request: TransferRequest, fingerprint: str, opening: HoldState | None
    ) -> Transfer:
        transfer_id = self._ids.next()
        occurred_at = self._clock.now()
        movements = _hold_movements(request.draws, opening)
        if writers_are_serialised(session):
            # SQLite: one writer at a time, so no twin can race us to the key; no savepoint needed.
            self._insert(session, request, transfer_id, fingerprint, occurred_at, movements, opening)
        else:
            try:
                with session.begin_nested():
                    self._insert(session, request, transfer_id, fingerprint, occurred_at, movements, opening)
            except IntegrityError:
                # A twin with the same key committed first; answer with its transfer.
                replayed = self._replay(session, request.idempotency_key, fingerprint)
                if replayed is None:
                    raise
                return replayed
        return Transfer(
            id=transfer_id,
            idempotency_key=request.idempotency_key,
            kind=request.kind,
            legs=request.legs,
            occurred_at=occurred_at,
            memo=request.memo,
            reference=request.reference,
        )

    @staticmethod
    def _insert(
        session: Session,
        request: TransferRequest,
        transfer_id: int,
        fingerprint: str,
        occurred_at: datetime,
        movements: dict[int, int],
        opening: HoldState | None,
    ) -> None:
        if opening is not None:
            repository.insert_hold(
                session,
                hold=opening,
                idempotency_key=request.idempotency_key,
                reference=request.reference,
                created_at=occurred_at,
            )
        repository.insert_transfer(
            session,
            transfer_id=transfer_id,
            request=request,
            fingerprint=fingerprint,
            occurred_at=occurred_at,
            hold_movements=movements,
        )

    def _replay(self, session: Session, key: str, fingerprint: str) -> Transfer | None:
        found = repository.find_transfer_by_key(session, key)
        if found is None:
            return None
        transfer, stored_fingerprint = found
        if stored_fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"the idempotency key {key!r} was already used for a different request"
            )
        return transfer

    def _lock_accounts(self, session: Session, legs: Iterable[Leg]) -> dict[int, AccountState]:
        legs = tuple(legs)
        accounts = repository.lock_accounts(session, (leg.account_id for leg in legs))
        for leg in legs:
            state = accounts.get(leg.account_id)
            if state is None:
                raise UnknownLedgerAccount(f"no ledger account {leg.account_id}")
            if state.asset != leg.asset:
                raise AssetMismatch(
                    f"ledger account {state.id} holds {state.asset}, not {leg.asset}",
                    account_asset=state.asset,
                    leg_asset=leg.asset,
                )
        return accounts

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
        self._post(session, request, opening=opening)
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
        self._post(session, request)
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


def _hold_movements(draws: Iterable[HoldDraw], opening: HoldState | None) -> dict[int, int]:
    movements: dict[int, int] = {}
    for draw in draws:
        movements[draw.hold_id] = movements.get(draw.hold_id, 0) - draw.amount
    if opening is not None:
        movements[opening.id] = opening.amount
    return movements
