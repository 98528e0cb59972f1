"""결제: on its settlement date (T+2), each unsettled fill moves its cash.

A buy's payable goes to the clearing house; a sale's receivable (net of commission and tax)
becomes cash the customer can use and withdraw. Settlements run at the start of the settlement
date (when the venue opens the day, or from `backbone trading settle`), each as a ledger transfer
keyed by its settlement id, so running the job twice settles nothing twice.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from backbone.brokerage import repository as brokerage_repository
from backbone.brokerage.domain import Account
from backbone.brokerage.errors import UnknownAccount
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.booking import CLEARING_OWNER
from backbone.brokerage.trading.domain import Settlement
from backbone.exchange.orders import Side
from backbone.kit.check import invariant
from backbone.kit.clock import Clock
from backbone.ledger.domain import CASH, Kind, Leg, Purpose, Transfer, TransferRequest
from backbone.ledger.service import Ledger

SETTLEMENTS_PER_BATCH_MAX = 1_000


class Settler:
    def __init__(self, *, ledger: Ledger, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock

    def settle_due(self, session: Session, day: date) -> int:
        """Settle everything due on or before `day`; returns how many settled."""
        total = 0
        while True:
            due = repository.due_settlements(session, day, SETTLEMENTS_PER_BATCH_MAX)
            if not due:
                return total
            requests = [self._request(session, settlement) for settlement in due]
            outcomes = self._ledger.transfer_many(session, requests)
            for settlement, outcome in zip(due, outcomes, strict=True):
                invariant(
                    isinstance(outcome, Transfer), f"settlement {settlement.id} was refused: {outcome!r}"
                )
            repository.mark_settled(session, [settlement.id for settlement in due], self._clock.now())
            total += len(due)

    def _request(self, session: Session, settlement: Settlement) -> TransferRequest:
        account = self._account(session, settlement.account_id)
        owner = account.owner
        amount = settlement.amount_won
        if settlement.direction is Side.BUY:
            payable = self._ledger.account(session, owner=owner, asset=CASH, purpose=Purpose.PAYABLE)
            clearing = self._ledger.account(
                session, owner=CLEARING_OWNER, asset=CASH, purpose=Purpose.CLEARING, minimum_balance=None
            )
            legs = (Leg(payable.id, CASH, -amount), Leg(clearing.id, CASH, amount))
        else:
            receivable = self._ledger.account(session, owner=owner, asset=CASH, purpose=Purpose.RECEIVABLE)
            available = self._ledger.account(session, owner=owner, asset=CASH, purpose=Purpose.AVAILABLE)
            legs = (Leg(receivable.id, CASH, -amount), Leg(available.id, CASH, amount))
        return TransferRequest(
            idempotency_key=f"settlement:{settlement.id}",
            kind=Kind.SETTLEMENT,
            legs=legs,
            memo=f"T+2 settlement of execution {settlement.execution_id}",
            reference=f"execution:{settlement.execution_id}",
        )

    @staticmethod
    def _account(session: Session, account_id: int) -> Account:
        account = brokerage_repository.account_by_id(session, account_id)
        if account is None:
            raise UnknownAccount(f"no account {account_id}")
        return account
