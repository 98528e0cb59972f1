"""The in-process adapter to Backbone's own brokerage core: one instance per firm that runs its
customers' accounts on this installation. The only module of the platform that imports
`backbone.brokerage`; it reads through the brokerage's own services, in a read-only session of its
own, as a firm's system would answer a request."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from backbone.brokerage.domain import Account, AccountBalance, Firm, Position, TransactionLine
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
    LocalBalanceRequest,
    TransactionKind,
    TransactionQuery,
)
from backbone.open_platform.reads import Kept, reading

SHAPED_CACHED_MAX = 100_000


class BackboneCore:
    """This installation's brokerage core, which runs the accounts of every firm registered with
    the `backbone` adapter: it answers the balances of accounts at several of its firms from one
    read (the integrated inquiry asks for all of a member's accounts at once)."""

    def __init__(self, *, database: Database, brokerage: Brokerage, holdings: Holdings) -> None:
        self._database = database
        self._brokerage = brokerage
        self._holdings = holdings
        self._firms: dict[str, Firm] = {}  # a firm's id and number format never change: asked once
        self._shaped: dict[int, tuple[AccountBalance, FirmBalance]] = {}
        # accounts and their holders, kept while the platform's revision stands (its triggers
        # watch the brokerage's accounts and customers too): the holder is still checked each read
        self._holders: Kept[
            tuple[tuple[int, str], ...], dict[tuple[str, str], tuple[Account, str | None]]
        ] = Kept()

    def firm(self, session: Session, code: str) -> Firm:
        found = self._firms.get(code)
        if found is None:
            try:
                found = self._firms[code] = self._brokerage.firm(session, code)
            except BrokerageError as error:
                raise FirmRefusal(f"{code} is not a firm on this installation") from error
        return found

    def balances(self, requests: Sequence[LocalBalanceRequest]) -> list[FirmBalance | FirmRefusal]:
        """Each request's balance, or the refusal a firm gives for an account that is not this
        person's (the firm's own check, independent of the platform's mapping)."""
        with reading(self._database) as session:
            firms: dict[str, Firm | FirmRefusal] = {}
            for request in requests:
                if request.firm_code not in firms:
                    try:
                        firms[request.firm_code] = self.firm(session, request.firm_code)
                    except FirmRefusal as refusal:
                        firms[request.firm_code] = refusal
            wanted = [
                (firm, request.number)
                for request in requests
                if isinstance(firm := firms[request.firm_code], Firm)
            ]
            found = self._holders.get(
                session,
                tuple((firm.id, number) for firm, number in wanted),
                lambda: self._brokerage.accounts_with_holders(session, wanted),
            )
            accounts = [_held(found, firms, request) for request in requests]
            balances = self._holdings.current_balances(
                session, [account for account in accounts if isinstance(account, Account)]
            )
        return [
            account if isinstance(account, FirmRefusal) else self._firm_balance(balances[account.id])
            for account in accounts
        ]

    def _firm_balance(self, balance: AccountBalance) -> FirmBalance:
        """In the platform's shape; the same object again while the core answers the same
        balance object (it does while nothing of the account moved)."""
        last = self._shaped.get(balance.account_id)
        if last is not None and last[0] is balance:
            return last[1]
        shaped = _balance(balance)
        if len(self._shaped) >= SHAPED_CACHED_MAX:
            self._shaped.clear()  # a bound on memory; forgetting only costs a conversion
        self._shaped[balance.account_id] = (balance, shaped)
        return shaped


def _held(
    found: dict[tuple[str, str], tuple[Account, str | None]],
    firms: dict[str, Firm | FirmRefusal],
    request: LocalBalanceRequest,
) -> Account | FirmRefusal:
    firm = firms[request.firm_code]
    if isinstance(firm, FirmRefusal):
        return firm
    account, holder = found.get((request.firm_code, request.number), (None, None))
    if account is None or holder != request.personal_identifier or not account.is_active:
        return FirmRefusal("no such account of this person")
    return account


class BackboneCoreFirm:
    def __init__(
        self,
        *,
        firm_code: str,
        core: BackboneCore,
        database: Database,
        brokerage: Brokerage,
        holdings: Holdings,
        watchlists: Watchlists,
    ) -> None:
        self.firm_code = firm_code
        self._core = core
        self._database = database
        self._brokerage = brokerage
        self._holdings = holdings
        self._watchlists = watchlists

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
        (answer,) = self._core.balances([LocalBalanceRequest(self.firm_code, personal_identifier, number)])
        if isinstance(answer, FirmRefusal):
            raise answer
        return answer

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
        return self._core.firm(session, self.firm_code)

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


def _balance(balance: AccountBalance) -> FirmBalance:
    return FirmBalance(
        cash_won=balance.cash_today,
        cash_next_day_won=balance.cash_next_day,
        cash_second_day_won=balance.cash_second_day,
        withdrawable_won=balance.withdrawable,
        buying_power_won=balance.cash_available,
        positions=tuple(_position(position) for position in balance.positions),
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
