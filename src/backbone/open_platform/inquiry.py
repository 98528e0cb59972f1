"""통합계좌조회 for apps: every read of an investor's data goes through here.

For each call: the token's membership → the app's linked accounts (never another member's: the
query starts from the membership) → the two consents of each, checked against the injected clock
→ the firm's adapter (with the member's personal identifier, so the firm checks too) → an audit
record per account read, committed before the data leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.orm import Session

from backbone.errors import InvalidCursor
from backbone.identity.service import Identity
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.kit.ids import IdGenerator
from backbone.open_platform.adapters.interface import (
    Capability,
    FirmBalance,
    FirmError,
    FirmRefusal,
    FirmRejectedCursor,
    FirmTransaction,
    FirmTransactionPage,
    FirmWatchlistGroup,
    LocalBalanceRequest,
    TransactionQuery,
)
from backbone.open_platform.audit.repository import DataRead
from backbone.open_platform.audit.service import ReadAudit
from backbone.open_platform.companies.domain import App
from backbone.open_platform.consents import repository as consents_repository
from backbone.open_platform.consents.domain import Consent, ConsentKind, ConsentStatus
from backbone.open_platform.errors import (
    CapabilityMissing,
    FirmUnavailable,
    MemberTokenRequired,
    UnknownVirtualAccount,
)
from backbone.open_platform.firms import repository as firms_repository
from backbone.open_platform.firms.domain import AdapterKind, PlatformFirm
from backbone.open_platform.firms.service import FirmDirectory
from backbone.open_platform.journey.domain import AccessState, LinkedAccount, Membership
from backbone.open_platform.journey.service import Journey
from backbone.open_platform.oauth.domain import AccessGrant
from backbone.open_platform.oauth.service import Caller
from backbone.open_platform.reads import shared_reading
from backbone.open_platform.virtual_accounts.domain import VirtualAccount, parse_number

FIRM_CALLS_PARALLEL_MAX = 8
IDENTIFIERS_CACHED_MAX = 100_000
OWN_TRANSACTIONS_MAX = 20
# Valuing a member's accounts is Python work under the one interpreter lock, with SQLite calls
# that release and retake it at every step: more such calls at once only fight over the lock
# (measured: 12 ms of CPU per integrated portfolio with one at a time, 20-30 ms with 4-32).
VALUATIONS_PARALLEL_MAX = 2
T = TypeVar("T")


class FirmStatus(StrEnum):
    OK = "ok"
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"
    CONSENT_MISSING = "consent_missing"
    CONSENT_EXPIRED = "consent_expired"
    CONSENT_REVOKED = "consent_revoked"


@dataclass(frozen=True, slots=True)
class Reading:
    """What the platform knows of the member and app at the start of a call."""

    grant: AccessGrant
    app: App
    membership: Membership
    personal_identifier: str
    linked: list[LinkedAccount]


@dataclass(frozen=True, slots=True)
class AccountBalance:
    linked: LinkedAccount
    status: FirmStatus
    balance: FirmBalance | None


@dataclass(frozen=True, slots=True)
class OwnAccount:
    """One of the member's own virtual accounts, as the portal's 통합계좌조회 shows it."""

    account: VirtualAccount
    firm: PlatformFirm
    status: FirmStatus
    balance: FirmBalance | None
    transactions: tuple[FirmTransaction, ...]
    watchlist: tuple[FirmWatchlistGroup, ...]


def platform_consent_status(consent: Consent | None, now: datetime) -> FirmStatus:
    """Whether the platform may ask the firm for the member's data: the platform↔firm consent."""
    if consent is None:
        return FirmStatus.CONSENT_MISSING
    status = consent.effective_status(now)
    if status is ConsentStatus.REVOKED:
        return FirmStatus.CONSENT_REVOKED
    return FirmStatus.OK if status is ConsentStatus.ACTIVE else FirmStatus.CONSENT_EXPIRED


class Inquiry:
    def __init__(
        self,
        *,
        clock: Clock,
        ids: IdGenerator,
        database: Database,
        journey: Journey,
        firms: FirmDirectory,
        audit: ReadAudit,
        identity: Identity,
    ) -> None:
        self._identity = identity
        self._clock = clock
        self._ids = ids
        self._database = database
        self._journey = journey
        self._firms = firms
        self._audit = audit
        self._identifiers: dict[int, str] = {}
        self._valuing = threading.BoundedSemaphore(VALUATIONS_PARALLEL_MAX)
        self._pool = ThreadPoolExecutor(
            max_workers=FIRM_CALLS_PARALLEL_MAX, thread_name_prefix="platform-firm"
        )

    def reading(self, session: Session, caller: Caller) -> Reading:
        """Who calls for whom, with the app's linked accounts and their consents, in the caller's
        read session (the one that checked the token)."""
        grant, membership = caller.grant, caller.membership
        if membership is None or grant.member_id is None:
            raise MemberTokenRequired("this needs a token the member authorized (authorization code)")
        linked = self._journey.linked_accounts(session, membership, caller.app)
        return Reading(grant, caller.app, membership, self._identifier(session, grant.member_id), linked)

    def _identifier(self, session: Session, member_id: int) -> str:
        """The member's personal identifier (CI), which never changes: looked up once."""
        found = self._identifiers.get(member_id)
        if found is None:
            found = self._identity.members.member(session, member_id).personal_identifier
            if len(self._identifiers) >= IDENTIFIERS_CACHED_MAX:
                self._identifiers.clear()
            self._identifiers[member_id] = found
        return found

    def target(self, reading: Reading, number: str) -> LinkedAccount:
        """The linked account with this number, readable now; one answer for unknown, another
        member's and not linked, so nothing is learnt about numbers outside the app's own."""
        digits = parse_number(number)  # a malformed number: 422 platform.invalid_virtual_account_number
        for linked in reading.linked:
            if linked.virtual_account.number == digits:
                linked.require_readable(self._clock.now())
                return linked
        raise UnknownVirtualAccount("no virtual account with this number is linked to this app")

    def read_one(
        self,
        reading: Reading,
        number: str,
        capability: Capability,
        request_id: str,
        work: Callable[[LinkedAccount], T],
    ) -> tuple[LinkedAccount, T]:
        linked = self.target(reading, number)
        if not linked.firm.supports(capability):
            raise CapabilityMissing(
                f"{linked.firm.code} does not offer {capability.value}", capability=capability.value
            )
        try:
            result = work(linked)
        except FirmRejectedCursor as error:
            raise InvalidCursor(error.detail) from error
        except FirmRefusal as error:
            raise FirmUnavailable(
                f"{linked.firm.code} refused: {error.detail}", firm=linked.firm.code
            ) from error
        except FirmError as error:
            raise FirmUnavailable(
                f"{linked.firm.code} did not answer: {error.detail}", firm=linked.firm.code, retry=True
            ) from error
        self._audit.record([self._read(reading, linked, capability.value, request_id)])
        return linked, result

    def balance(self, reading: Reading, number: str, request_id: str) -> tuple[LinkedAccount, FirmBalance]:
        return self.read_one(
            reading,
            number,
            Capability.BALANCE,
            request_id,
            lambda linked: self._firms.adapter(linked.firm).balance(
                reading.personal_identifier, linked.virtual_account.real_number
            ),
        )

    def portfolio(self, reading: Reading, number: str, request_id: str) -> tuple[LinkedAccount, FirmBalance]:
        return self.read_one(
            reading,
            number,
            Capability.PORTFOLIO,
            request_id,
            lambda linked: self._firms.adapter(linked.firm).balance(
                reading.personal_identifier, linked.virtual_account.real_number
            ),
        )

    def transactions(
        self, reading: Reading, number: str, query: TransactionQuery, request_id: str
    ) -> tuple[LinkedAccount, FirmTransactionPage]:
        return self.read_one(
            reading,
            number,
            Capability.TRANSACTIONS,
            request_id,
            lambda linked: self._firms.adapter(linked.firm).transactions(
                reading.personal_identifier, linked.virtual_account.real_number, query
            ),
        )

    def watchlist(
        self, reading: Reading, number: str, request_id: str
    ) -> tuple[LinkedAccount, list[FirmWatchlistGroup]]:
        return self.read_one(
            reading,
            number,
            Capability.WATCHLIST,
            request_id,
            lambda linked: self._firms.adapter(linked.firm).watchlist(
                reading.personal_identifier, linked.virtual_account.real_number
            ),
        )

    def integrated(self, reading: Reading, request_id: str) -> list[AccountBalance]:
        """Every linked account's balance, with a status per account: a slow or failing firm
        leaves its accounts marked and the others answered (partial results)."""
        now = self._clock.now()
        results: list[AccountBalance | None] = [None] * len(reading.linked)
        pending: list[tuple[int, LinkedAccount, Future[FirmBalance]]] = []
        # the in-process firms answer from one read session, a few calls at a time
        with self._valuing, shared_reading(self._database):
            self._start_balances(reading, now, results, pending)
        for index, linked, future in pending:
            results[index] = self._balance_now(future.result, linked)
        answered = [item for item in results if item is not None]
        reads = [
            self._read(reading, item.linked, "integrated_portfolio", request_id)
            for item in answered
            if item.status is FirmStatus.OK
        ]
        self._audit.record(reads)
        return answered

    def _start_balances(
        self,
        reading: Reading,
        now: datetime,
        results: list[AccountBalance | None],
        pending: list[tuple[int, LinkedAccount, Future[FirmBalance]]],
    ) -> None:
        """Answers the in-process firms' accounts at once, together, and starts the others' in
        the pool."""
        local: list[tuple[int, LinkedAccount]] = []
        for index, linked in enumerate(reading.linked):
            state = linked.state(now)
            if state is not AccessState.OK:
                results[index] = AccountBalance(linked, FirmStatus(state.value), None)
            elif not linked.firm.supports(Capability.BALANCE):
                results[index] = AccountBalance(linked, FirmStatus.UNSUPPORTED, None)
            elif linked.firm.adapter is AdapterKind.BACKBONE:
                # In process: one read for all of them; a thread would only add a hop under the
                # same interpreter lock.
                local.append((index, linked))
            else:
                adapter = self._firms.adapter(linked.firm)
                number = linked.virtual_account.real_number
                future = self._pool.submit(adapter.balance, reading.personal_identifier, number)
                pending.append((index, linked, future))
        if not local:
            return
        answers = self._firms.local_balances(
            [
                LocalBalanceRequest(
                    linked.firm.code, reading.personal_identifier, linked.virtual_account.real_number
                )
                for _, linked in local
            ]
        )
        for (index, linked), answer in zip(local, answers, strict=True):
            results[index] = (
                AccountBalance(linked, FirmStatus.UNAVAILABLE, None)
                if isinstance(answer, FirmRefusal)
                else AccountBalance(linked, FirmStatus.OK, answer)
            )

    def own_accounts(self, member_id: int) -> list[OwnAccount]:
        """The portal's 통합계좌조회: the member's own virtual accounts, each read from its firm under
        the platform↔firm consent (the platform's licence to ask the firm); no app is involved,
        so no fintech consent is needed and no app read is audited."""
        with self._database.reading() as session:
            member = self._identity.members.member(session, member_id)
            accounts = self._journey.virtual_accounts(session, member_id)
            firms = firms_repository.firms_by_ids(session, [account.firm_id for account in accounts])
            consents = consents_repository.current_consents(session, member_id, ConsentKind.PLATFORM_FIRM)
        now = self._clock.now()
        return [
            self._own(
                member.personal_identifier,
                account,
                firms[account.firm_id],
                platform_consent_status(consents.get(account.firm_id), now),
            )
            for account in accounts
        ]

    def _own(
        self, personal_identifier: str, account: VirtualAccount, firm: PlatformFirm, status: FirmStatus
    ) -> OwnAccount:
        if status is not FirmStatus.OK:
            return OwnAccount(account, firm, status, None, (), ())
        adapter = self._firms.adapter(firm)
        number = account.real_number
        query = TransactionQuery(since=None, until=None, kinds=None, cursor=None, limit=OWN_TRANSACTIONS_MAX)
        try:
            balance = (
                adapter.balance(personal_identifier, number) if firm.supports(Capability.BALANCE) else None
            )
            transactions = (
                adapter.transactions(personal_identifier, number, query).items
                if firm.supports(Capability.TRANSACTIONS)
                else ()
            )
            watchlist = (
                tuple(adapter.watchlist(personal_identifier, number))
                if firm.supports(Capability.WATCHLIST)
                else ()
            )
        except (FirmError, FirmRefusal):
            return OwnAccount(account, firm, FirmStatus.UNAVAILABLE, None, (), ())
        return OwnAccount(account, firm, FirmStatus.OK, balance, transactions, watchlist)

    def _balance_now(self, call: Callable[[], FirmBalance], linked: LinkedAccount) -> AccountBalance:
        try:
            return AccountBalance(linked, FirmStatus.OK, call())
        except (FirmError, FirmRefusal):
            return AccountBalance(linked, FirmStatus.UNAVAILABLE, None)

    def _read(self, reading: Reading, linked: LinkedAccount, resource: str, request_id: str) -> DataRead:
        platform, fintech = linked.platform_consent, linked.fintech_consent
        return DataRead(
            id=self._ids.next(),
            at=self._clock.now(),
            app_id=reading.app.id,
            member_id=reading.membership.member_id,
            virtual_account_id=linked.virtual_account.id,
            fintech_consent_id=0 if fintech is None else fintech.id,
            platform_consent_id=0 if platform is None else platform.id,
            resource=resource,
            request_id=request_id[:64],
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False)
