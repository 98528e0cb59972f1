"""The ledger's one write path: post a batch of transfers with a handful of statements.

A single transfer is a batch of one. For a batch:
1. validate each request without storage (pure domain); a bad one is refused alone;
2. lock every account the batch touches, in id order, with one query, and the holds it draws on;
3. look up every idempotency key with one query (after the locks: a twin request that held them
   has committed by now); a key seen before returns that transfer, or is refused if the body differs;
4. apply the transfers in order against running balances and hold amounts, so a later transfer
   sees an earlier one's effect; one that would break a floor or overdraw a hold is refused alone;
5. write every accepted transfer's legs, sealing rows and hold movements, one statement per table.
The database re-checks the sum, the seal and the floors itself (triggers and CHECK constraints).

Each request gets its own outcome: its Transfer, or the typed error that refused it. Nothing of a
refused request is written. On PostgreSQL, where writers run side by side, the writes run in a
savepoint; if a twin won a key meanwhile, the batch is retried one request at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backbone.kit.check import invariant
from backbone.kit.clock import Clock
from backbone.kit.db import writers_are_serialised
from backbone.kit.ids import IdGenerator
from backbone.ledger import repository
from backbone.ledger.domain import (
    AccountState,
    HoldState,
    Purpose,
    StagedWrite,
    Transfer,
    TransferRequest,
    apply_legs,
    check_draws,
    validate_transfer,
)
from backbone.ledger.errors import (
    AssetMismatch,
    IdempotencyKeyReused,
    LedgerError,
    UnknownHold,
    UnknownLedgerAccount,
)

BATCH_TRANSFERS_MAX = 5_000

Outcome = Transfer | LedgerError


@dataclass(frozen=True, slots=True)
class Entry:
    request: TransferRequest
    opening: HoldState | None = None  # a hold this transfer opens (its legs fund the held account)


@dataclass
class _Running:
    """The batch's view of storage, updated as each transfer is accepted."""

    accounts: dict[int, AccountState]
    holds: dict[int, HoldState]
    known_keys: dict[str, tuple[Transfer, str]]
    staged: list[StagedWrite] = field(default_factory=list)


class Poster:
    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    def post(self, session: Session, entries: Sequence[Entry]) -> list[Outcome]:
        if len(entries) > BATCH_TRANSFERS_MAX:
            raise ValueError(f"a batch holds at most {BATCH_TRANSFERS_MAX} transfers")
        outcomes: list[Outcome | None] = [None] * len(entries)
        valid: list[tuple[int, Entry, str]] = []
        for index, entry in enumerate(entries):
            try:
                validate_transfer(entry.request)
            except LedgerError as error:
                outcomes[index] = error
                continue
            valid.append((index, entry, entry.request.fingerprint()))
        running = self._read(session, [entry for _, entry, _ in valid])
        occurred_at = self._clock.now()
        for index, entry, fingerprint in valid:
            outcomes[index] = self._apply(running, entry, fingerprint, occurred_at)
        if running.staged and not self._write(session, running.staged, occurred_at):
            return [self.post(session, [entry])[0] for entry in entries]  # a twin raced us: one by one
        finished: list[Outcome] = []
        for outcome in outcomes:
            invariant(outcome is not None, "every request in a batch gets an outcome")
            finished.append(cast(Outcome, outcome))
        return finished

    @staticmethod
    def _read(session: Session, entries: Sequence[Entry]) -> _Running:
        account_ids = {leg.account_id for entry in entries for leg in entry.request.legs}
        hold_ids = {draw.hold_id for entry in entries for draw in entry.request.draws}
        accounts = repository.lock_accounts(session, account_ids) if account_ids else {}
        holds = repository.lock_holds(session, hold_ids) if hold_ids else {}
        keys = [entry.request.idempotency_key for entry in entries]
        known = repository.find_transfers_by_keys(session, keys) if keys else {}
        return _Running(accounts=accounts, holds=holds, known_keys=known)

    def _apply(self, running: _Running, entry: Entry, fingerprint: str, occurred_at: datetime) -> Outcome:
        request = entry.request
        known = running.known_keys.get(request.idempotency_key)
        if known is not None:
            transfer, stored_fingerprint = known
            if stored_fingerprint != fingerprint:
                key = request.idempotency_key
                return IdempotencyKeyReused(
                    f"the idempotency key {key!r} was already used for a different request"
                )
            return transfer
        try:
            balances = self._check(running, entry)
        except LedgerError as error:
            return error
        for account_id, balance in balances.items():
            running.accounts[account_id] = replace(running.accounts[account_id], balance=balance)
        movements = _hold_movements(entry)
        for hold_id, change in movements.items():
            if hold_id in running.holds:
                hold = running.holds[hold_id]
                running.holds[hold_id] = replace(hold, remaining=hold.remaining + change)
        transfer = Transfer(
            id=self._ids.next(),
            idempotency_key=request.idempotency_key,
            kind=request.kind,
            legs=request.legs,
            occurred_at=occurred_at,
            memo=request.memo,
            reference=request.reference,
        )
        running.known_keys[request.idempotency_key] = (transfer, fingerprint)
        running.staged.append(StagedWrite(transfer, fingerprint, movements, entry.opening))
        return transfer

    @staticmethod
    def _check(running: _Running, entry: Entry) -> dict[int, int]:
        """The balances after this entry, or the typed error that refuses it."""
        request = entry.request
        involved: dict[int, AccountState] = {}
        for leg in request.legs:
            state = running.accounts.get(leg.account_id)
            if state is None:
                raise UnknownLedgerAccount(f"no ledger account {leg.account_id}")
            if state.asset != leg.asset:
                raise AssetMismatch(
                    f"ledger account {state.id} holds {state.asset}, not {leg.asset}",
                    account_asset=state.asset,
                    leg_asset=leg.asset,
                )
            involved[state.id] = state
        for draw in request.draws:
            if draw.hold_id not in running.holds:
                raise UnknownHold(f"no hold {draw.hold_id}")
        held_ids = {state.id for state in involved.values() if state.purpose is Purpose.HELD}
        check_draws(request.legs, request.draws, running.holds, held_ids, entry.opening)
        return apply_legs(involved, request.legs)

    @staticmethod
    def _write(session: Session, staged: list[StagedWrite], occurred_at: datetime) -> bool:
        """Write the accepted transfers; False if, on PostgreSQL, a twin request won a key first."""
        if writers_are_serialised(session):
            repository.insert_transfers(session, staged, occurred_at)
            return True
        try:
            with session.begin_nested():
                repository.insert_transfers(session, staged, occurred_at)
        except IntegrityError:
            if len(staged) == 1 and not _lost_a_race(session, staged[0]):
                raise
            return False
        return True


def _lost_a_race(session: Session, write: StagedWrite) -> bool:
    return bool(repository.find_transfers_by_keys(session, [write.transfer.idempotency_key]))


def _hold_movements(entry: Entry) -> dict[int, int]:
    movements: dict[int, int] = {}
    for draw in entry.request.draws:
        movements[draw.hold_id] = movements.get(draw.hold_id, 0) - draw.amount
    if entry.opening is not None:
        movements[entry.opening.id] = entry.opening.amount
    return movements
