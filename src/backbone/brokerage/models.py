"""Brokerage tables: firms, customers, real accounts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backbone.kit.db import Base


class FirmRow(Base):
    __tablename__ = "brokerage_firms"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name_ko: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    account_number_pattern: Mapped[str] = mapped_column(String(24))
    branch: Mapped[int]
    # Incremented with UPDATE ... RETURNING, so concurrent openings never share a serial.
    next_account_serial: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]


class CustomerRow(Base):
    __tablename__ = "brokerage_customers"
    __table_args__ = (
        UniqueConstraint("firm_id", "customer_number"),
        Index("ix_brokerage_customers_personal_identifier", "personal_identifier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    firm_id: Mapped[int] = mapped_column(ForeignKey("brokerage_firms.id"))
    customer_number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    birth_date: Mapped[date]
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    # The identity provider's stable personal identifier (like Korea's CI), from the firm's own
    # identity check; the open platform matches members to customers by it.
    personal_identifier: Mapped[str | None] = mapped_column(String(88))
    created_at: Mapped[datetime]


class AccountRow(Base):
    __tablename__ = "brokerage_accounts"
    __table_args__ = (
        UniqueConstraint("firm_id", "number"),
        Index("ix_brokerage_accounts_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    firm_id: Mapped[int] = mapped_column(ForeignKey("brokerage_firms.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("brokerage_customers.id"))
    number: Mapped[str] = mapped_column(String(16))  # digits only; shown with the firm's format
    account_type: Mapped[str] = mapped_column(String(16))
    alias: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(12))
    opened_at: Mapped[datetime]
