"""The in-process adapter to Backbone's own brokerage core: one instance per firm that runs its
customers' accounts on this installation. The only module of the platform that imports
`backbone.brokerage`; it reads through the brokerage's own services, in a read-only session of its
own, as a firm's system would answer a request."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backbone.brokerage.domain import Account, Firm, Position, TransactionLine
from backbone.brokerage.domain import TransactionKind as BrokerageKind
from backbone.brokerage.errors import BrokerageError
from backbone.brokerage.holdings import Holdings
from backbone.brokerage.service import Brokerage
from backbone.brokerage.watchlists import Watchlists
from backbone.errors import InvalidCursor
from backbone.kit.db import Database
from backbone.open_platform.adapters.interface import (
    ALL_CAPABILITIES,
    Capability,
    FirmAccount,
    FirmBalance,
    FirmPosition,
    FirmRefusal,
    FirmRejectedCursor,
    FirmTransaction,
    FirmTransactionPage,
    FirmWatchlistGroup,
    TransactionKind,
    TransactionQuery,
)
from backbone.open_platform.reads import reading


class BackboneCoreFirm:
    def __init__(
        self,
        *,
        firm_code: str,
        database: Database,
        brokerage: Brokerage,
        holdings: Holdings,
        watchlists: Watchlists,
    ) -> None:
        self.firm_code = firm_code
        self._database = database
        self._brokerage = brokerage
        self._holdings = holdings
        self._watchlists = watchlists
        self._firm: Firm | None = None  # a firm's id and number format never change: asked once

    @property
    def capabilities(self) -> frozenset[Capability]:
        return ALL_CAPABILITIES

    def accounts(self, personal_identifier: str) -> list[FirmAccount]:
        with reading(self._database) as session:
            firm = self._firm_id(session)
            return [
                _account(account)
                for customer in self._brokerage.customers_by_personal_identifier(session, personal_identifier)
                if customer.firm_id == firm
                for account in self._brokerage.accounts_of_customer(session, customer.id)
                if account.is_active
            ]

    def account(self, personal_identifier: str, number: str) -> FirmAccount:
        with reading(self._database) as session:
            return _account(self._own_account(session, personal_identifier, number))

    def balance(self, personal_identifier: str, number: str) -> FirmBalance:
        with reading(self._database) as session:
            account = self._own_account(session, personal_identifier, number)
            balance = self._holdings.balance(session, account)
        return FirmBalance(
            cash_won=balance.cash_today,
            cash_next_day_won=balance.cash_next_day,
            cash_second_day_won=balance.cash_second_day,
            withdrawable_won=balance.withdrawable,
            buying_power_won=balance.cash_available,
            positions=tuple(_position(position) for position in balance.positions),
        )

    def transactions(
        self, personal_identifier: str, number: str, query: TransactionQuery
    ) -> FirmTransactionPage:
        with reading(self._database) as session:
            account = self._own_account(session, personal_identifier, number)
            try:
                page = self._holdings.transactions(
                    session,
                    account=account,
                    since=query.since,
                    until=query.until,
                    kinds=None
                    if query.kinds is None
                    else [BrokerageKind(kind.value) for kind in query.kinds],
                    cursor=query.cursor,
                    limit=query.limit,
                )
            except InvalidCursor as error:
                raise FirmRejectedCursor(error.detail) from error
        return FirmTransactionPage(
            items=tuple(_transaction(line) for line in page.items), next_cursor=page.next_cursor
        )

    def watchlist(self, personal_identifier: str, number: str) -> list[FirmWatchlistGroup]:
        with reading(self._database) as session:
            account = self._own_account(session, personal_identifier, number)
            groups = self._watchlists.groups(session, account.customer_id)
        return [FirmWatchlistGroup(group.name, group.instruments) for group in groups]

    # --- internals ------------------------------------------------------------------------------

    def _firm_id(self, session: Session) -> int:
        return self._firm_of(session).id

    def _firm_of(self, session: Session) -> Firm:
        if self._firm is None:
            try:
                self._firm = self._brokerage.firm(session, self.firm_code)
            except BrokerageError as error:
                raise FirmRefusal(f"{self.firm_code} is not a firm on this installation") from error
        return self._firm

    def _own_account(self, session: Session, personal_identifier: str, number: str) -> Account:
        """The account, which must be this person's: the firm's own check, independent of the
        platform's mapping."""
        firm = self._firm_of(session)
        try:
            account, holder = self._brokerage.account_with_holder(session, firm, number)
        except BrokerageError as error:
            raise FirmRefusal("no such account of this person") from error
        if holder != personal_identifier or not account.is_active:
            raise FirmRefusal("no such account of this person")
        return account


def _account(account: Account) -> FirmAccount:
    return FirmAccount(
        number=account.number,
        display_number=account.display_number,
        account_type=account.account_type.value,
        alias=account.alias,
    )


def _position(position: Position) -> FirmPosition:
    return FirmPosition(
        instrument=position.instrument,
        quantity_micro=position.total,
        sellable_micro=position.available,
        average_price_won=position.average_price,
        cost_won=position.cost_won,
        last_price_won=position.last_price or None,
        valuation_won=position.valuation_won,
        profit_won=position.profit_won,
    )


def _transaction(line: TransactionLine) -> FirmTransaction:
    return FirmTransaction(
        id=str(line.id),
        occurred_at=line.occurred_at,
        kind=TransactionKind(line.kind.value),
        instrument=line.instrument,
        quantity_micro=line.quantity_micro,
        price_won=line.price,
        amount_won=line.amount_won,
        commission_won=line.commission_won,
        tax_won=line.tax_won,
        cash_won=line.cash_won,
        settlement_date=line.settlement_date,
        memo=line.memo,
    )
