"""Ledger tables. Legs and transfers are append-only; the database refuses updates and deletes,
refuses a transfer whose legs do not net to zero per asset, and derives each account's balance
from its legs (see the triggers in the migration `0001_foundation`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backbone.kit.db import Base


class AssetRow(Base):
    __tablename__ = "ledger_assets"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # cash | security | token
    name: Mapped[str] = mapped_column(String(120))


class AccountRow(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("owner", "asset", "purpose"),
        CheckConstraint(
            "minimum_balance IS NULL OR balance >= minimum_balance", name="balance_not_below_minimum"
        ),
        Index("ix_ledger_accounts_owner", "owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(64))
    asset: Mapped[str] = mapped_column(ForeignKey("ledger_assets.code"))
    purpose: Mapped[str] = mapped_column(String(16))
    minimum_balance: Mapped[int | None]
    # Maintained by a trigger on ledger_legs: the sum of this account's legs, nothing else.
    balance: Mapped[int] = mapped_column(default=0)
    # Raised by one with every leg by the same trigger: whether an owner's accounts moved since a
    # reader last looked is one aggregate away (migration 0005).
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]


class TransferRow(Base):
    __tablename__ = "ledger_transfers"
    __table_args__ = (Index("ix_ledger_transfers_occurred_at_id", "occurred_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    memo: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime]


class LegRow(Base):
    __tablename__ = "ledger_legs"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_ledger_legs_account_id", "account_id"),
    )

    # Legs are written before their transfer row (which seals them), so the foreign key is
    # checked at commit.
    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transfers.id", deferrable=True, initially="DEFERRED"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    asset: Mapped[str] = mapped_column(ForeignKey("ledger_assets.code"))
    amount: Mapped[int]


class HoldRow(Base):
    __tablename__ = "ledger_holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    source_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    held_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    asset: Mapped[str] = mapped_column(ForeignKey("ledger_assets.code"))
    amount: Mapped[int]
    remaining: Mapped[int]
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HoldMovementRow(Base):
    """What each transfer did to each hold: positive when it opened the hold, negative when it
    drew on it or released it. `ledger check` recomputes every hold's remaining amount from these."""

    __tablename__ = "ledger_hold_movements"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)

    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transfers.id", deferrable=True, initially="DEFERRED"), primary_key=True
    )
    hold_id: Mapped[int] = mapped_column(ForeignKey("ledger_holds.id"), primary_key=True, autoincrement=False)
    amount: Mapped[int]
