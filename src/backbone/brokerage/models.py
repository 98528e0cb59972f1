"""Brokerage tables: firms, customers, real accounts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
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
    commission_ppm: Mapped[int] = mapped_column(default=150, server_default="150")  # 0.015%
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


class OrderRow(Base):
    """An order from an account. Its id is also the venue's order id."""

    __tablename__ = "brokerage_orders"
    __table_args__ = (
        UniqueConstraint("account_id", "client_order_key"),
        Index("ix_brokerage_orders_account_id_id", "account_id", "id"),
        Index("ix_brokerage_orders_status", "status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "quantity = open_quantity + filled_quantity + cancelled_quantity", name="quantity_conserved"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("brokerage_accounts.id"))
    client_order_key: Mapped[str] = mapped_column(String(100))
    instrument: Mapped[str] = mapped_column(ForeignKey("instruments.code"))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(8))
    time_in_force: Mapped[str] = mapped_column(String(4))
    price: Mapped[int | None]  # won per share; null for a market order
    quantity: Mapped[int]  # shares asked for, including increases by modification
    open_quantity: Mapped[int]
    filled_quantity: Mapped[int] = mapped_column(default=0)
    cancelled_quantity: Mapped[int] = mapped_column(default=0)
    filled_value_won: Mapped[int] = mapped_column(default=0)  # sum of price x quantity of its fills
    status: Mapped[str] = mapped_column(String(20))
    reject_code: Mapped[str | None] = mapped_column(String(60))
    reject_message: Mapped[str | None] = mapped_column(String(200))
    trade_date: Mapped[date]
    last_sequence: Mapped[int] = mapped_column(default=0)  # the last venue result applied to it
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExecutionRow(Base):
    """One side of one venue trade (체결)."""

    __tablename__ = "brokerage_executions"
    __table_args__ = (
        UniqueConstraint("trade_id", "side"),
        Index("ix_brokerage_executions_account_id_id", "account_id", "id"),
        Index("ix_brokerage_executions_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    trade_id: Mapped[int]
    order_id: Mapped[int] = mapped_column(ForeignKey("brokerage_orders.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("brokerage_accounts.id"))
    instrument: Mapped[str] = mapped_column(String(6))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[int]
    quantity: Mapped[int]
    gross_won: Mapped[int]
    commission_won: Mapped[int]
    tax_won: Mapped[int]
    trade_date: Mapped[date]
    settlement_date: Mapped[date]
    venue_sequence: Mapped[int]
    executed_at: Mapped[datetime]


class SettlementRow(Base):
    """Cash an execution owes or is owed on its settlement date (T+2): a buy pays its value, a
    sale receives its value less commission and tax."""

    __tablename__ = "brokerage_settlements"
    __table_args__ = (
        Index("ix_brokerage_settlements_status_settlement_date", "status", "settlement_date"),
        Index("ix_brokerage_settlements_account_id", "account_id"),
        CheckConstraint("amount_won >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    execution_id: Mapped[int] = mapped_column(ForeignKey("brokerage_executions.id"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("brokerage_accounts.id"))
    direction: Mapped[str] = mapped_column(String(8))  # pay | receive
    amount_won: Mapped[int]
    settlement_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10))  # pending | settled
    settled_at: Mapped[datetime | None]


class PositionCostRow(Base):
    """The book cost of a holding, for its average price (평균단가) and profit and loss. The
    quantity itself lives in the ledger; this row's quantity must agree with it."""

    __tablename__ = "brokerage_position_costs"

    account_id: Mapped[int] = mapped_column(ForeignKey("brokerage_accounts.id"), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(6), primary_key=True)
    quantity_micro: Mapped[int]
    cost_won: Mapped[int]


class TransactionRow(Base):
    """거래내역: one line per movement a customer sees. Written with the ledger transfers it
    describes; the ledger stays the record of the money."""

    __tablename__ = "brokerage_transactions"
    __table_args__ = (Index("ix_brokerage_transactions_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("brokerage_accounts.id"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    instrument: Mapped[str | None] = mapped_column(String(6))
    quantity_micro: Mapped[int | None]  # signed: into (+) or out of (-) the account
    price: Mapped[int | None]
    amount_won: Mapped[int | None]  # the value traded or moved, unsigned
    commission_won: Mapped[int] = mapped_column(default=0)
    tax_won: Mapped[int] = mapped_column(default=0)
    cash_won: Mapped[int] = mapped_column(default=0)  # signed cash effect on the account (정산금액)
    settlement_date: Mapped[date | None]
    memo: Mapped[str] = mapped_column(String(200), default="")
    ledger_transfer_id: Mapped[int | None]
    execution_id: Mapped[int | None]


class WatchlistGroupRow(Base):
    __tablename__ = "brokerage_watchlist_groups"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("brokerage_customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int]
    created_at: Mapped[datetime]


class WatchlistItemRow(Base):
    __tablename__ = "brokerage_watchlist_items"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("brokerage_watchlist_groups.id", ondelete="CASCADE"), primary_key=True
    )
    instrument: Mapped[str] = mapped_column(ForeignKey("instruments.code"), primary_key=True)
    position: Mapped[int]


class VenueCursorRow(Base):
    """How far the brokerage has booked the venue's published results: after a crash, the
    venue's journal is replayed from here, and each result is booked exactly once. The journal's
    identity says which journal that is (None: recorded before identities, adopted at the next
    start)."""

    __tablename__ = "brokerage_venue_cursor"

    venue: Mapped[str] = mapped_column(String(20), primary_key=True)
    booked_sequence: Mapped[int]
    updated_at: Mapped[datetime]
    journal_identity: Mapped[str | None] = mapped_column(String(32))
