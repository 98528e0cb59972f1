"""`backbone ledger check`: recompute every ledger invariant from the legs, over the whole database.

The write path and the database's triggers already refuse anything that breaks these rules; the
audit exists for what they cannot see: a restore from a bad backup, a trigger dropped by hand, a
row edited directly in SQL. It reads only, in chunks of transfers so that a progress bar can
follow it on a large database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from backbone.ledger.domain import Purpose
from backbone.ledger.models import AccountRow, HoldMovementRow, HoldRow, LegRow, TransferRow

CHUNK_TRANSFERS = 5_000
VIOLATIONS_KEPT_MAX = 1_000


class Rule(StrEnum):
    TRANSFER_UNBALANCED = "transfer_unbalanced"  # legs of a transfer do not net to zero per asset
    TRANSFER_TOO_FEW_LEGS = "transfer_too_few_legs"
    LEG_WITHOUT_TRANSFER = "leg_without_transfer"
    LEG_ASSET_MISMATCH = "leg_asset_mismatch"  # a leg's asset differs from its account's
    BALANCE_DRIFT = "balance_drift"  # stored balance differs from the sum of the legs
    BELOW_MINIMUM = "below_minimum"
    ASSET_NOT_ZERO_SUM = "asset_not_zero_sum"  # all balances of an asset do not sum to zero
    HOLD_REMAINING_DRIFT = "hold_remaining_drift"  # remaining differs from its movements
    HELD_BALANCE_DRIFT = "held_balance_drift"  # a held account differs from its holds' remaining


@dataclass(frozen=True, slots=True)
class Violation:
    rule: Rule
    subject: str
    detail: str


@dataclass
class AuditReport:
    transfers_checked: int = 0
    accounts_checked: int = 0
    holds_checked: int = 0
    violations: list[Violation] = field(default_factory=list)
    violation_count: int = 0
    by_rule: dict[Rule, int] = field(default_factory=lambda: dict.fromkeys(Rule, 0))

    def add(self, rule: Rule, subject: str, detail: str) -> None:
        self.violation_count += 1
        self.by_rule[rule] += 1
        if len(self.violations) < VIOLATIONS_KEPT_MAX:
            self.violations.append(Violation(rule, subject, detail))

    @property
    def ok(self) -> bool:
        return self.violation_count == 0

    def counts(self) -> dict[Rule, int]:
        return dict(self.by_rule)


Progress = Callable[[int, int], None]  # (done, total) transfers


def audit(session: Session, *, progress: Progress | None = None) -> AuditReport:
    report = AuditReport()
    total = session.scalar(select(func.count()).select_from(TransferRow)) or 0
    _check_transfers(session, report, total, progress)
    _check_orphan_legs(session, report)
    _check_leg_assets(session, report)
    _check_accounts(session, report)
    _check_asset_sums(session, report)
    _check_holds(session, report)
    return report


def _check_transfers(session: Session, report: AuditReport, total: int, progress: Progress | None) -> None:
    after = -1
    while True:
        ids = session.scalars(
            select(TransferRow.id)
            .where(TransferRow.id > after)
            .order_by(TransferRow.id)
            .limit(CHUNK_TRANSFERS)
        ).all()
        if not ids:
            break
        low, high = ids[0], ids[-1]
        in_chunk = LegRow.transfer_id.between(low, high)
        for transfer_id, asset, net in session.execute(
            select(LegRow.transfer_id, LegRow.asset, func.sum(LegRow.amount))
            .where(in_chunk)
            .group_by(LegRow.transfer_id, LegRow.asset)
            .having(func.sum(LegRow.amount) != 0)
        ):
            report.add(
                Rule.TRANSFER_UNBALANCED, f"transfer {transfer_id}", f"{asset} legs net to {net}, not 0"
            )
        leg_counts = (
            select(LegRow.transfer_id, func.count().label("legs"))
            .where(in_chunk)
            .group_by(LegRow.transfer_id)
        ).subquery()
        for transfer_id, legs in session.execute(
            select(TransferRow.id, func.coalesce(leg_counts.c.legs, literal(0)))
            .outerjoin(leg_counts, leg_counts.c.transfer_id == TransferRow.id)
            .where(TransferRow.id.between(low, high), func.coalesce(leg_counts.c.legs, literal(0)) < 2)
        ):
            report.add(
                Rule.TRANSFER_TOO_FEW_LEGS, f"transfer {transfer_id}", f"has {legs} legs; at least 2 needed"
            )
        report.transfers_checked += len(ids)
        after = high
        if progress is not None:
            progress(report.transfers_checked, total)


def _check_orphan_legs(session: Session, report: AuditReport) -> None:
    for transfer_id, position in session.execute(
        select(LegRow.transfer_id, LegRow.position)
        .outerjoin(TransferRow, TransferRow.id == LegRow.transfer_id)
        .where(TransferRow.id.is_(None))
    ):
        report.add(Rule.LEG_WITHOUT_TRANSFER, f"leg {transfer_id}/{position}", "its transfer does not exist")


def _check_leg_assets(session: Session, report: AuditReport) -> None:
    for transfer_id, position, leg_asset, account_asset in session.execute(
        select(LegRow.transfer_id, LegRow.position, LegRow.asset, AccountRow.asset)
        .join(AccountRow, AccountRow.id == LegRow.account_id)
        .where(LegRow.asset != AccountRow.asset)
    ):
        report.add(
            Rule.LEG_ASSET_MISMATCH,
            f"leg {transfer_id}/{position}",
            f"moves {leg_asset} on an account holding {account_asset}",
        )


def _check_accounts(session: Session, report: AuditReport) -> None:
    sums = (
        select(LegRow.account_id, func.sum(LegRow.amount).label("total")).group_by(LegRow.account_id)
    ).subquery()
    derived = func.coalesce(sums.c.total, literal(0))
    rows = session.execute(
        select(
            AccountRow.id, AccountRow.owner, AccountRow.balance, AccountRow.minimum_balance, derived
        ).outerjoin(sums, sums.c.account_id == AccountRow.id)
    ).all()
    for account_id, owner, balance, minimum, legs_total in rows:
        report.accounts_checked += 1
        if balance != legs_total:
            report.add(
                Rule.BALANCE_DRIFT,
                f"account {account_id} ({owner})",
                f"stored balance {balance} but its legs sum to {legs_total}",
            )
        if minimum is not None and legs_total < minimum:
            report.add(
                Rule.BELOW_MINIMUM, f"account {account_id} ({owner})", f"{legs_total} is below {minimum}"
            )


def _check_asset_sums(session: Session, report: AuditReport) -> None:
    """Every unit of an asset inside Backbone came from an account that stands for the world
    outside it, so the stored balances of each asset sum to zero."""
    for asset, total in session.execute(
        select(AccountRow.asset, func.sum(AccountRow.balance))
        .group_by(AccountRow.asset)
        .having(func.sum(AccountRow.balance) != 0)
    ):
        report.add(Rule.ASSET_NOT_ZERO_SUM, f"asset {asset}", f"all balances sum to {total}, not 0")


def _check_holds(session: Session, report: AuditReport) -> None:
    moved = (
        select(HoldMovementRow.hold_id, func.sum(HoldMovementRow.amount).label("total")).group_by(
            HoldMovementRow.hold_id
        )
    ).subquery()
    derived = func.coalesce(moved.c.total, literal(0))
    for hold_id, remaining, movements_total in session.execute(
        select(HoldRow.id, HoldRow.remaining, derived).outerjoin(moved, moved.c.hold_id == HoldRow.id)
    ):
        report.holds_checked += 1
        if remaining != movements_total:
            report.add(
                Rule.HOLD_REMAINING_DRIFT,
                f"hold {hold_id}",
                f"remaining {remaining} but its movements sum to {movements_total}",
            )
    per_account = (
        select(HoldRow.held_account_id, func.sum(HoldRow.remaining).label("total")).group_by(
            HoldRow.held_account_id
        )
    ).subquery()
    held_total = func.coalesce(per_account.c.total, literal(0))
    sums = (
        select(LegRow.account_id, func.sum(LegRow.amount).label("total")).group_by(LegRow.account_id)
    ).subquery()
    legs_total = func.coalesce(sums.c.total, literal(0))
    for account_id, from_legs, from_holds in session.execute(
        select(AccountRow.id, legs_total, held_total)
        .outerjoin(per_account, per_account.c.held_account_id == AccountRow.id)
        .outerjoin(sums, sums.c.account_id == AccountRow.id)
        .where(AccountRow.purpose == Purpose.HELD.value, legs_total != held_total)
    ):
        report.add(
            Rule.HELD_BALANCE_DRIFT,
            f"account {account_id}",
            f"holds {from_legs} by its legs but its holds have {from_holds} remaining",
        )
