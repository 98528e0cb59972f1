"""Brokerage use cases for firms, customers, accounts and their money. Services never commit.

Cash and securities live in the ledger under the account's owner (`account:{id}`); deposits and
withdrawals cross the firm's bank account (`firm:{id}` / bank), securities enter and leave through
the depository. The ledger's floors are the last line of defence; the checks here come first so
that a refusal says what a person needs to know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from sqlalchemy.orm import Session

from backbone.brokerage import repository
from backbone.brokerage.domain import (
    DEPOSITORY_OWNER,
    Account,
    AccountNumberFormat,
    AccountType,
    Customer,
    Firm,
    TransactionKind,
    TransactionLine,
    check_firm_code,
    firm_owner,
)
from backbone.brokerage.errors import (
    AccountClosed,
    BrokerageError,
    ExceedsWithdrawable,
    FirmAlreadyExists,
    InvalidAccountNumberFormat,
    InvalidCommission,
    InvalidCustomerDetails,
    SameAccount,
    UnknownAccount,
    UnknownCustomer,
    UnknownFirm,
    UnknownInstrument,
)
from backbone.brokerage.fees import COMMISSION_PPM_MAX
from backbone.brokerage.trading import repository as trading_repository
from backbone.brokerage.trading.domain import reduced_cost
from backbone.kit.clock import Clock, seoul_date
from backbone.kit.ids import IdGenerator
from backbone.kit.money import MICRO_PER_SHARE, Quantity, Won
from backbone.ledger.domain import (
    CASH,
    AccountState,
    Kind,
    Leg,
    Purpose,
    Transfer,
    TransferRequest,
    check_amount,
)
from backbone.ledger.service import Ledger

NAME_LENGTH_MAX = 60
DEFAULT_COMMISSION_PPM = 150  # 0.015%, a common online rate
ALIAS_LENGTH_MAX = 40
PERSONAL_IDENTIFIER_LENGTH = 88
MEMO_LENGTH_MAX = 200


class Brokerage:
    def __init__(self, *, clock: Clock, ids: IdGenerator, ledger: Ledger) -> None:
        self._clock = clock
        self._ids = ids
        self.ledger = ledger

    # --- firms ----------------------------------------------------------------------------------

    def register_firm(
        self,
        session: Session,
        *,
        code: str,
        name_ko: str,
        name_en: str,
        account_number_pattern: str,
        branch: int,
        commission_ppm: int = DEFAULT_COMMISSION_PPM,
    ) -> Firm:
        check_firm_code(code)
        if not 0 <= commission_ppm <= COMMISSION_PPM_MAX:
            raise InvalidCommission(f"commission is 0 to {COMMISSION_PPM_MAX} parts per million")
        number_format = AccountNumberFormat(account_number_pattern)
        if not 0 <= branch < 10**number_format.branch_digits:
            raise InvalidAccountNumberFormat(
                f"branch {branch} does not fit the pattern {account_number_pattern}"
            )
        if repository.firm_by_code(session, code) is not None:
            raise FirmAlreadyExists(f"a firm with code {code} exists")
        repository.insert_firm(
            session,
            firm_id=self._ids.next(),
            code=code,
            name_ko=name_ko,
            name_en=name_en,
            pattern=account_number_pattern,
            branch=branch,
            commission_ppm=commission_ppm,
            created_at=self._clock.now(),
        )
        return self.firm(session, code)

    def firm(self, session: Session, code: str) -> Firm:
        firm = repository.firm_by_code(session, code)
        if firm is None:
            raise UnknownFirm(f"no securities firm with code {code!r}")
        return firm

    def firms(self, session: Session) -> list[Firm]:
        return repository.firms(session)

    # --- customers ------------------------------------------------------------------------------

    def register_customer(
        self,
        session: Session,
        *,
        firm_code: str,
        name: str,
        birth_date: date,
        phone: str,
        email: str | None = None,
        personal_identifier: str | None = None,
    ) -> Customer:
        firm = self.firm(session, firm_code)
        _check_customer_details(name, phone, personal_identifier)
        customer_id = self._ids.next()
        number = f"{firm.code[:2]}{repository.customer_count(session, firm.id) + 1:08d}"
        repository.insert_customer(
            session,
            customer_id=customer_id,
            firm_id=firm.id,
            customer_number=number,
            name=name.strip(),
            birth_date=birth_date,
            phone=phone,
            email=email,
            personal_identifier=personal_identifier,
            created_at=self._clock.now(),
        )
        return self.customer(session, customer_id)

    def customer(self, session: Session, customer_id: int) -> Customer:
        customer = repository.customer_by_id(session, customer_id)
        if customer is None:
            raise UnknownCustomer(f"no customer {customer_id}")
        return customer

    def customers_by_personal_identifier(self, session: Session, personal_identifier: str) -> list[Customer]:
        return repository.customers_by_personal_identifier(session, personal_identifier)

    # --- accounts -------------------------------------------------------------------------------

    def open_account(
        self, session: Session, *, customer_id: int, account_type: AccountType, alias: str = ""
    ) -> Account:
        customer = self.customer(session, customer_id)
        if len(alias) > ALIAS_LENGTH_MAX:
            raise InvalidCustomerDetails(f"an alias has at most {ALIAS_LENGTH_MAX} characters")
        firm = repository.firm_by_id(session, customer.firm_id)
        if firm is None:
            raise UnknownFirm(f"customer {customer_id}'s firm is unknown")
        serial = repository.take_account_serial(session, firm.id)
        number = firm.account_number_format.compose(
            branch=firm.branch, product_code=account_type.product_code, serial=serial
        )
        account_id = self._ids.next()
        repository.insert_account(
            session,
            account_id=account_id,
            firm_id=firm.id,
            customer_id=customer.id,
            number=number,
            account_type=account_type,
            alias=alias,
            opened_at=self._clock.now(),
        )
        return self.account(session, account_id)

    def account(self, session: Session, account_id: int) -> Account:
        account = repository.account_by_id(session, account_id)
        if account is None:
            raise UnknownAccount(f"no account {account_id}")
        return account

    def account_with_holder(self, session: Session, firm: Firm, number: str) -> tuple[Account, str | None]:
        """The account and its holder's personal identifier."""
        found = repository.account_with_holder(session, firm, firm.account_number_format.parse(number))
        if found is None:
            raise UnknownAccount(f"{firm.code} has no account {number}")
        return found

    def accounts_with_holders(
        self, session: Session, wanted: Sequence[tuple[Firm, str]]
    ) -> dict[tuple[str, str], tuple[Account, str | None]]:
        """(firm code, number as given) -> the account and its holder's personal identifier, for
        accounts at several firms in one query; a malformed or unknown number is left out."""
        given: dict[tuple[int, str], tuple[str, str]] = {}
        parsed: list[tuple[Firm, str]] = []
        for firm, number in wanted:
            try:
                digits = firm.account_number_format.parse(number)
            except BrokerageError:
                continue
            given[(firm.id, digits)] = (firm.code, number)
            parsed.append((firm, digits))
        found = repository.accounts_with_holders(session, parsed)
        return {given[key]: value for key, value in found.items()}

    def account_by_number(self, session: Session, firm_code: str, number: str) -> Account:
        firm = self.firm(session, firm_code)
        digits = firm.account_number_format.parse(number)
        account = repository.account_by_number(session, firm, digits)
        if account is None:
            raise UnknownAccount(f"{firm.code} has no account {number}")
        return account

    def accounts_of_customer(self, session: Session, customer_id: int) -> list[Account]:
        return repository.accounts_of_customer(session, customer_id)

    def accounts_of_person(self, session: Session, personal_identifier: str) -> list[Account]:
        """Every account, at every firm, of the customers carrying this personal identifier."""
        accounts: list[Account] = []
        for customer in repository.customers_by_personal_identifier(session, personal_identifier):
            accounts.extend(repository.accounts_of_customer(session, customer.id))
        return accounts

    def account_of_person(self, session: Session, personal_identifier: str, account_id: int) -> Account:
        """The account, if it is this person's; another person's account is as unknown as none."""
        account = repository.account_of_person(session, personal_identifier, account_id)
        if account is None:
            raise UnknownAccount(f"you have no account {account_id}")
        return account

    def accounts_of_firm(self, session: Session, firm_code: str) -> list[Account]:
        return repository.accounts_of_firm(session, self.firm(session, firm_code))

    # --- money ----------------------------------------------------------------------------------

    def deposit(
        self, session: Session, *, account: Account, amount: Won, idempotency_key: str, memo: str = ""
    ) -> Transfer:
        """Cash arriving from the customer's bank (입금): the firm's bank account pays in."""
        check_amount(amount.amount, "deposit")
        _require_active(account)
        bank = self._firm_bank(session, account.firm)
        target = self._account_cash(session, account)
        request = TransferRequest(
            idempotency_key=idempotency_key,
            kind=Kind.DEPOSIT,
            legs=(Leg(bank.id, CASH, -amount.amount), Leg(target.id, CASH, amount.amount)),
            memo=_memo(memo),
        )
        return self._post(
            session, request, [self._cash_line(account, TransactionKind.DEPOSIT, amount.amount, memo)]
        )

    def withdraw(
        self, session: Session, *, account: Account, amount: Won, idempotency_key: str, memo: str = ""
    ) -> Transfer:
        """Cash leaving to the customer's bank (출금), no more than is withdrawable."""
        check_amount(amount.amount, "withdrawal")
        _require_active(account)
        repository.lock_accounts(session, [account.id])
        if self.ledger.find_transfer(session, idempotency_key) is None:
            withdrawable = self.withdrawable(session, account)
            if amount.amount > withdrawable:
                raise ExceedsWithdrawable(
                    f"{amount} was asked for; {Won(withdrawable)} can be withdrawn",
                    withdrawable=withdrawable,
                )
        bank = self._firm_bank(session, account.firm)
        source = self._account_cash(session, account)
        request = TransferRequest(
            idempotency_key=idempotency_key,
            kind=Kind.WITHDRAWAL,
            legs=(Leg(source.id, CASH, -amount.amount), Leg(bank.id, CASH, amount.amount)),
            memo=_memo(memo),
        )
        line = self._cash_line(account, TransactionKind.WITHDRAWAL, -amount.amount, memo)
        return self._post(session, request, [line])

    def transfer_between(
        self,
        session: Session,
        *,
        source: Account,
        target: Account,
        asset: str,
        amount: int,
        idempotency_key: str,
        memo: str = "",
    ) -> Transfer:
        """Move cash (in won) or securities (in micro-units) from one account to another (대체).
        Securities keep their book cost: the moved shares take their share of it along."""
        check_amount(amount, "transfer amount")
        if source.id == target.id:
            raise SameAccount("the source and target accounts are the same")
        _require_active(source)
        _require_active(target)
        repository.lock_accounts(session, [source.id, target.id])
        if asset != CASH:
            self._require_instrument(session, asset)
        source_ledger = self.ledger.account(
            session, owner=source.owner, asset=asset, purpose=Purpose.AVAILABLE
        )
        target_ledger = self.ledger.account(
            session, owner=target.owner, asset=asset, purpose=Purpose.AVAILABLE
        )
        request = TransferRequest(
            idempotency_key=idempotency_key,
            kind=Kind.TRANSFER,
            legs=(Leg(source_ledger.id, asset, -amount), Leg(target_ledger.id, asset, amount)),
            memo=_memo(memo),
        )
        if asset == CASH:
            lines = [
                self._cash_line(source, TransactionKind.TRANSFER_OUT, -amount, memo),
                self._cash_line(target, TransactionKind.TRANSFER_IN, amount, memo),
            ]
            return self._post(session, request, lines)
        lines = [
            self._securities_line(source, TransactionKind.TRANSFER_OUT, asset, -amount, None, memo),
            self._securities_line(target, TransactionKind.TRANSFER_IN, asset, amount, None, memo),
        ]
        return self._post(session, request, lines, cost_move=(source, target, asset, amount))

    def deliver_securities(
        self,
        session: Session,
        *,
        account: Account,
        instrument: str,
        quantity: Quantity,
        unit_cost_won: int,
        idempotency_key: str,
        memo: str = "",
    ) -> Transfer:
        """Securities arriving from outside Backbone (입고), through the depository, at a book cost
        per share (their acquisition price elsewhere)."""
        check_amount(quantity.micro, "quantity")
        check_amount(unit_cost_won, "unit cost")
        _require_active(account)
        self._require_instrument(session, instrument)
        depository = self.ledger.account(
            session, owner=DEPOSITORY_OWNER, asset=instrument, purpose=Purpose.ISSUANCE, minimum_balance=None
        )
        target = self.ledger.account(
            session, owner=account.owner, asset=instrument, purpose=Purpose.AVAILABLE
        )
        request = TransferRequest(
            idempotency_key=idempotency_key,
            kind=Kind.SECURITIES_IN,
            legs=(
                Leg(depository.id, instrument, -quantity.micro),
                Leg(target.id, instrument, quantity.micro),
            ),
            memo=_memo(memo),
        )
        line = self._securities_line(
            account, TransactionKind.SECURITIES_IN, instrument, quantity.micro, unit_cost_won, memo
        )
        cost = quantity.micro * unit_cost_won // MICRO_PER_SHARE
        return self._post(session, request, [line], cost_added=(account, instrument, quantity.micro, cost))

    def withdrawable(self, session: Session, account: Account) -> int:
        """출금가능금액: cash neither held for open orders nor committed to unsettled buys."""
        return self.ledger.balance(session, account.owner, CASH).available

    # --- internals ------------------------------------------------------------------------------

    def _post(
        self,
        session: Session,
        request: TransferRequest,
        lines: list[TransactionLine],
        *,
        cost_added: tuple[Account, str, int, int] | None = None,
        cost_move: tuple[Account, Account, str, int] | None = None,
    ) -> Transfer:
        """Post the transfer; on its first posting (not a retry) write its 거래내역 lines and book
        costs with it, in the same transaction."""
        first_time = self.ledger.find_transfer(session, request.idempotency_key) is None
        transfer = self.ledger.transfer(session, request)
        if not first_time:
            return transfer
        repository.insert_transaction_lines(
            session,
            [replace(line, occurred_at=transfer.occurred_at) for line in lines],
            [transfer.id] * len(lines),
        )
        if cost_added is not None:
            account, instrument, quantity, cost = cost_added
            self._add_cost(session, account.id, instrument, quantity, cost)
        if cost_move is not None:
            giver, taker, instrument, quantity = cost_move
            held_quantity, held_cost = trading_repository.position_costs(session, giver.id).get(
                instrument, (0, 0)
            )
            moved_cost = held_cost - reduced_cost(held_cost, held_quantity, quantity) if held_quantity else 0
            self._add_cost(session, giver.id, instrument, -quantity, -moved_cost)
            self._add_cost(session, taker.id, instrument, quantity, moved_cost)
        return transfer

    @staticmethod
    def _add_cost(session: Session, account_id: int, instrument: str, quantity: int, cost: int) -> None:
        held_quantity, held_cost = trading_repository.position_costs(session, account_id).get(
            instrument, (0, 0)
        )
        new_quantity = max(held_quantity + quantity, 0)
        trading_repository.save_position_costs(
            session, account_id, {instrument: (new_quantity, held_cost + cost if new_quantity else 0)}
        )

    def _cash_line(
        self, account: Account, kind: TransactionKind, cash_won: int, memo: str
    ) -> TransactionLine:
        now = self._clock.now()
        return TransactionLine(
            id=self._ids.next(),
            account_id=account.id,
            kind=kind,
            occurred_at=now,
            instrument=None,
            quantity_micro=None,
            price=None,
            amount_won=abs(cash_won),
            commission_won=0,
            tax_won=0,
            cash_won=cash_won,
            settlement_date=seoul_date(now),
            memo=memo,
        )

    def _securities_line(
        self,
        account: Account,
        kind: TransactionKind,
        instrument: str,
        quantity_micro: int,
        price: int | None,
        memo: str,
    ) -> TransactionLine:
        now = self._clock.now()
        value = None if price is None else abs(quantity_micro) * price // MICRO_PER_SHARE
        return TransactionLine(
            id=self._ids.next(),
            account_id=account.id,
            kind=kind,
            occurred_at=now,
            instrument=instrument,
            quantity_micro=quantity_micro,
            price=price,
            amount_won=value,
            commission_won=0,
            tax_won=0,
            cash_won=0,
            settlement_date=seoul_date(now),
            memo=memo,
        )

    def _firm_bank(self, session: Session, firm: Firm) -> AccountState:
        return self.ledger.account(
            session, owner=firm_owner(firm.id), asset=CASH, purpose=Purpose.BANK, minimum_balance=None
        )

    def _account_cash(self, session: Session, account: Account) -> AccountState:
        return self.ledger.account(session, owner=account.owner, asset=CASH, purpose=Purpose.AVAILABLE)

    def _require_instrument(self, session: Session, code: str) -> None:
        if code == CASH or not self.ledger.asset_exists(session, code):
            raise UnknownInstrument(f"no instrument {code!r}")


def _require_active(account: Account) -> None:
    if not account.is_active:
        raise AccountClosed(f"account {account.display_number} is closed")


def _memo(memo: str) -> str:
    if len(memo) > MEMO_LENGTH_MAX:
        raise InvalidCustomerDetails(f"a memo has at most {MEMO_LENGTH_MAX} characters")
    return memo


def _check_customer_details(name: str, phone: str, personal_identifier: str | None) -> None:
    if not 1 <= len(name.strip()) <= NAME_LENGTH_MAX:
        raise InvalidCustomerDetails(f"a name has 1 to {NAME_LENGTH_MAX} characters")
    digits = phone.replace("-", "")
    if not (digits.isdigit() and digits.startswith("01") and 10 <= len(digits) <= 11):
        raise InvalidCustomerDetails(f"{phone!r} is not a Korean mobile number (010-1234-5678)")
    if personal_identifier is not None and len(personal_identifier) != PERSONAL_IDENTIFIER_LENGTH:
        raise InvalidCustomerDetails(f"a personal identifier has {PERSONAL_IDENTIFIER_LENGTH} characters")
