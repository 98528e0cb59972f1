"""Any sequence of deposits, withdrawals, holds, releases, draws and transfers, valid and invalid
mixed, keeps the ledger whole: every asset's balances sum to zero, no floored balance goes below
zero, and each invalid operation is refused with a typed error and changes nothing.

Deposits, withdrawals and transfers go through the brokerage service, where a person's amount
(positive, whole, bounded) becomes signed legs; holds, releases and draws go to the ledger as an
order would use them. A plain Python model predicts each outcome; the real ledger, on a real
SQLite database copied from the suite's migrated template, must agree with it after every step.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backbone import bootstrap
from backbone.bootstrap import Container
from backbone.brokerage.domain import DEPOSITORY_OWNER, Account, firm_owner
from backbone.brokerage.errors import ExceedsWithdrawable, SameAccount
from backbone.errors import AmountOutOfRange, BackboneError
from backbone.kit.clock import SimulatedClock
from backbone.kit.money import QUANTITY_MICRO_ABSOLUTE_MAX, WON_ABSOLUTE_MAX, Quantity, Won
from backbone.ledger.audit import audit
from backbone.ledger.domain import AMOUNT_MAX, CASH, HoldDraw, Kind, Leg, Purpose, TransferRequest
from backbone.ledger.errors import (
    AmountNotPositive,
    AmountTooLarge,
    DrawDoesNotMatchLegs,
    IdempotencyKeyReused,
    InsufficientFunds,
)
from backbone.ledger.models import AccountRow, HoldRow, TransferRow
from tests import builders
from tests.conftest import MARKET_MORNING, settings_for

OWNERS = ("alice", "bob", "carol")
SHARES = "005930"
ASSETS = (CASH, SHARES)
amounts = st.one_of(
    st.integers(min_value=1, max_value=5_000_000),
    st.sampled_from([0, -1, -250_000, AMOUNT_MAX, AMOUNT_MAX + 1, 10**19]),
)
Operation = Callable[[Session], None]


def expected_error(amount: int, usable: int | None = None) -> type[BackboneError] | None:
    """What a person's amount gets: refused if not positive or beyond the limits, else refused
    if more than can be used."""
    if amount <= 0:
        return AmountNotPositive
    if amount > min(WON_ABSOLUTE_MAX, QUANTITY_MICRO_ABSOLUTE_MAX):
        return AmountOutOfRange  # the Won / Quantity constructors refuse it first
    if amount > AMOUNT_MAX:
        return AmountTooLarge
    if usable is not None and amount > usable:
        return InsufficientFunds
    return None


class LedgerMachine(RuleBasedStateMachine):
    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="ledger-property-"))
        shutil.copyfile(self.template, self.directory / "ledger.sqlite3")
        url = f"sqlite:///{self.directory / 'ledger.sqlite3'}"
        self.container: Container = bootstrap.build(
            settings_for(url, self.directory), clock=SimulatedClock(MARKET_MORNING)
        )
        self.model: dict[tuple[str, str, Purpose], int] = defaultdict(int)
        self.accounts: dict[str, Account] = {}
        self.world: dict[str, tuple[str, Purpose]] = {}
        self.holds: list[tuple[int, str, str]] = []  # (hold id, owner name, asset)
        self.hold_remaining: dict[int, int] = {}
        self.deposits: list[tuple[str, str, int]] = []  # (key, owner name, amount) of cash deposits done
        self.keys = count(1)

    @initialize()
    def open_accounts(self) -> None:
        with self.container.database.transaction() as session:
            firm = builders.firm(self.container, session)
            for owner in OWNERS:
                self.accounts[owner] = builders.account(self.container, session, name=owner)
        self.world = {CASH: (firm_owner(firm.id), Purpose.BANK), SHARES: (DEPOSITORY_OWNER, Purpose.ISSUANCE)}

    # --- helpers --------------------------------------------------------------------------------

    def snapshot(self) -> tuple[object, ...]:
        with self.container.database.reading() as session:
            balances = tuple(
                session.execute(select(AccountRow.id, AccountRow.balance).order_by(AccountRow.id))
            )
            holds = tuple(session.execute(select(HoldRow.id, HoldRow.remaining).order_by(HoldRow.id)))
            transfers = session.scalar(select(func.count()).select_from(TransferRow))
        return balances, holds, transfers

    def attempt(self, expected: type[BackboneError] | None, operation: Operation) -> bool:
        """Run the operation in its own transaction; a refusal must be the predicted type and
        must leave the database exactly as it was."""
        before = self.snapshot()
        try:
            with self.container.database.transaction() as session:
                operation(session)
        except BackboneError as error:
            # The expected type depends on the model's prediction, so pytest.raises cannot be used.
            assert expected is not None, f"refused unexpectedly: {error!r}"  # noqa: PT017
            assert isinstance(error, expected), f"expected {expected.__name__}, got {error!r}"  # noqa: PT017
            assert self.snapshot() == before, "a refused operation changed the database"
            return False
        assert expected is None, f"expected {expected.__name__}, but it succeeded"
        return True

    def owner(self, name: str) -> str:
        return self.accounts[name].owner

    def available(self, name: str, asset: str) -> int:
        return self.model[self.owner(name), asset, Purpose.AVAILABLE]

    def move(self, source: tuple[str, Purpose], target: tuple[str, Purpose], asset: str, amount: int) -> None:
        self.model[source[0], asset, source[1]] -= amount
        self.model[target[0], asset, target[1]] += amount

    # --- rules: a person's amounts, through the brokerage ---------------------------------------

    @rule(name=st.sampled_from(OWNERS), asset=st.sampled_from(ASSETS), amount=amounts)
    def deposit(self, name: str, asset: str, amount: int) -> None:
        """Cash from the firm's bank, or securities from the depository."""
        account, idempotency_key = self.accounts[name], f"deposit-{next(self.keys)}"

        def operation(session: Session) -> None:
            if asset == CASH:
                self.container.brokerage.deposit(
                    session, account=account, amount=Won(amount), idempotency_key=idempotency_key
                )
            else:
                self.container.brokerage.deliver_securities(
                    session,
                    account=account,
                    instrument=asset,
                    quantity=Quantity(amount),
                    unit_cost_won=71_500,
                    idempotency_key=idempotency_key,
                )

        if self.attempt(expected_error(amount), operation):
            self.move(self.world[asset], (account.owner, Purpose.AVAILABLE), asset, amount)
            if asset == CASH:
                self.deposits.append((idempotency_key, name, amount))

    @rule(name=st.sampled_from(OWNERS), amount=amounts)
    def withdraw(self, name: str, amount: int) -> None:
        account = self.accounts[name]

        def operation(session: Session) -> None:
            self.container.brokerage.withdraw(
                session, account=account, amount=Won(amount), idempotency_key=f"withdraw-{next(self.keys)}"
            )

        expected = expected_error(amount, self.available(name, CASH))
        if self.attempt(ExceedsWithdrawable if expected is InsufficientFunds else expected, operation):
            self.move((account.owner, Purpose.AVAILABLE), self.world[CASH], CASH, amount)

    @rule(
        source=st.sampled_from(OWNERS),
        recipient=st.sampled_from(OWNERS),
        asset=st.sampled_from(ASSETS),
        amount=amounts,
    )
    def transfer(self, source: str, recipient: str, asset: str, amount: int) -> None:
        giver, taker = self.accounts[source], self.accounts[recipient]

        def operation(session: Session) -> None:
            self.container.brokerage.transfer_between(
                session,
                source=giver,
                target=taker,
                asset=asset,
                amount=amount,
                idempotency_key=f"move-{next(self.keys)}",
            )

        expected = expected_error(amount)
        if expected is AmountOutOfRange:
            expected = AmountTooLarge  # transfers take plain integers (cash or micro-shares)
        if expected is None and source == recipient:
            expected = SameAccount
        if expected is None:
            expected = expected_error(amount, self.available(source, asset))
        if self.attempt(expected, operation):
            self.move((giver.owner, Purpose.AVAILABLE), (taker.owner, Purpose.AVAILABLE), asset, amount)

    @precondition(lambda self: bool(self.deposits))
    @rule(data=st.data(), same_body=st.booleans())
    def retry_deposit(self, data: st.DataObject, same_body: bool) -> None:
        """A retried deposit changes nothing; its key reused for another amount is refused."""
        idempotency_key, name, amount = data.draw(st.sampled_from(self.deposits))
        other_amount = amount + 1 if amount < AMOUNT_MAX else amount - 1  # another body, still in range
        before = self.snapshot()
        refusal: AbstractContextManager[object] = (
            nullcontext() if same_body else pytest.raises(IdempotencyKeyReused)
        )
        with refusal, self.container.database.transaction() as session:
            self.container.brokerage.deposit(
                session,
                account=self.accounts[name],
                amount=Won(amount if same_body else other_amount),
                idempotency_key=idempotency_key,
            )
        assert self.snapshot() == before

    # --- rules: holds, as an open order uses them ----------------------------------------------

    @rule(name=st.sampled_from(OWNERS), asset=st.sampled_from(ASSETS), amount=amounts)
    def hold(self, name: str, asset: str, amount: int) -> None:
        created: list[int] = []

        def operation(session: Session) -> None:
            hold = self.container.ledger.hold(
                session,
                idempotency_key=f"hold-{next(self.keys)}",
                owner=self.owner(name),
                asset=asset,
                amount=amount,
            )
            created.append(hold.id)

        expected = expected_error(amount, self.available(name, asset))
        if expected is AmountOutOfRange:
            expected = AmountTooLarge  # the ledger takes plain integers
        if self.attempt(expected, operation):
            self.holds.append((created[0], name, asset))
            self.hold_remaining[created[0]] = amount
            self.move((self.owner(name), Purpose.AVAILABLE), (self.owner(name), Purpose.HELD), asset, amount)

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), amount=st.one_of(st.none(), amounts))
    def release(self, data: st.DataObject, amount: int | None) -> None:
        hold_id, name, asset = data.draw(st.sampled_from(self.holds))
        remaining = self.hold_remaining[hold_id]
        expected: type[BackboneError] | None = None
        if amount is not None:
            expected = expected_error(amount)
            if expected is AmountOutOfRange:
                expected = AmountTooLarge
            if expected is None and amount > remaining:
                expected = DrawDoesNotMatchLegs

        def operation(session: Session) -> None:
            self.container.ledger.release(
                session, idempotency_key=f"release-{next(self.keys)}", hold_id=hold_id, amount=amount
            )

        if self.attempt(expected, operation) and remaining > 0:
            released = remaining if amount is None else amount
            self.hold_remaining[hold_id] -= released
            self.move(
                (self.owner(name), Purpose.HELD), (self.owner(name), Purpose.AVAILABLE), asset, released
            )

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), recipient=st.sampled_from(OWNERS), amount=amounts)
    def draw(self, data: st.DataObject, recipient: str, amount: int) -> None:
        """Spend part of a hold, as a fill spends an order's reserved cash or shares."""
        hold_id, name, asset = data.draw(st.sampled_from(self.holds))
        expected = expected_error(amount)
        if expected is AmountOutOfRange:
            expected = AmountTooLarge
        if expected is None and amount > self.hold_remaining[hold_id]:
            expected = DrawDoesNotMatchLegs

        def operation(session: Session) -> None:
            held = self.container.ledger.account(
                session, owner=self.owner(name), asset=asset, purpose=Purpose.HELD
            )
            taker = self.container.ledger.account(
                session, owner=self.owner(recipient), asset=asset, purpose=Purpose.AVAILABLE
            )
            self.container.ledger.transfer(
                session,
                TransferRequest(
                    idempotency_key=f"fill-{next(self.keys)}",
                    kind=Kind.BUY,
                    legs=(Leg(held.id, asset, -amount), Leg(taker.id, asset, amount)),
                    draws=(HoldDraw(hold_id, amount),),
                ),
            )

        if self.attempt(expected, operation):
            self.hold_remaining[hold_id] -= amount
            self.move(
                (self.owner(name), Purpose.HELD), (self.owner(recipient), Purpose.AVAILABLE), asset, amount
            )

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def every_asset_sums_to_zero_and_floors_hold(self) -> None:
        with self.container.database.reading() as session:
            sums = dict(
                session.execute(
                    select(AccountRow.asset, func.sum(AccountRow.balance)).group_by(AccountRow.asset)
                ).all()
            )
            below = session.scalar(
                select(func.count()).where(
                    AccountRow.minimum_balance.is_not(None), AccountRow.balance < AccountRow.minimum_balance
                )
            )
        assert all(total == 0 for total in sums.values()), sums
        assert below == 0

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        owners = {self.owner(name) for name in self.accounts} | {owner for owner, _ in self.world.values()}
        with self.container.database.reading() as session:
            for owner in owners:
                for asset, balance in self.container.ledger.balances(session, owner).items():
                    for purpose, amount in balance.by_purpose.items():
                        assert amount == self.model[owner, asset, purpose], (owner, asset, purpose)

    def teardown(self) -> None:
        try:
            with self.container.database.reading() as session:
                report = audit(session)
            assert report.ok, report.violations
        finally:
            self.container.close()
            shutil.rmtree(self.directory, ignore_errors=True)


def test_any_sequence_of_ledger_operations_keeps_it_whole(sqlite_template: Path) -> None:
    LedgerMachine.template = sqlite_template
    runner = LedgerMachine.TestCase
    runner.settings = settings(
        max_examples=60,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    runner().runTest()
