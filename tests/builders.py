"""Reusable builders for tests: a firm, a customer and a funded account in one call."""

from __future__ import annotations

from datetime import date
from itertools import count

from sqlalchemy.orm import Session

from backbone.bootstrap import Container
from backbone.brokerage.domain import Account, AccountType, Firm
from backbone.kit.money import Quantity, Won

_keys = count(1)


def key(prefix: str = "test") -> str:
    return f"{prefix}-{next(_keys)}"


def firm(container: Container, session: Session, code: str = "TST", pattern: str = "BBB-PP-NNNNNC") -> Firm:
    return container.brokerage.register_firm(
        session,
        code=code,
        name_ko="테스트증권",
        name_en="Test Securities",
        account_number_pattern=pattern,
        branch=1 if "B" in pattern else 0,
    )


def account(
    container: Container,
    session: Session,
    *,
    firm_code: str = "TST",
    name: str = "김민준",
    cash: int = 0,
    shares: dict[str, int] | None = None,
    account_type: AccountType = AccountType.GENERAL,
) -> Account:
    customer = container.brokerage.register_customer(
        session, firm_code=firm_code, name=name, birth_date=date(1990, 5, 17), phone="010-1234-5678"
    )
    opened = container.brokerage.open_account(session, customer_id=customer.id, account_type=account_type)
    if cash:
        container.brokerage.deposit(session, account=opened, amount=Won(cash), idempotency_key=key("fund"))
    for code, quantity in (shares or {}).items():
        container.brokerage.deliver_securities(
            session,
            account=opened,
            instrument=code,
            quantity=Quantity.shares(quantity),
            unit_cost_won=container.instruments[code].base_price,
            idempotency_key=key("in"),
        )
    return opened
