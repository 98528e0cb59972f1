"""The investor's journey, steps 6-12, and consent management: apply to use an app, virtual
accounts per firm, the platform↔firm consent, the accounts each app may see, the fintech↔firm
consent, renewal and revocation. Services never commit; every change is audit-logged, and consent
events are queued as webhooks in the same transaction."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from backbone.identity.domain import ArsCall, Member, SigningChallenge
from backbone.identity.service import Identity
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.open_platform.adapters.interface import Capability, FirmAccount
from backbone.open_platform.audit.repository import record_change
from backbone.open_platform.companies.domain import App
from backbone.open_platform.companies.service import Companies
from backbone.open_platform.consents import repository as consents_repository
from backbone.open_platform.consents.domain import (
    ALLOWED_METHODS,
    FIRMS_PER_CONSENT_MAX,
    REQUEST_TTL_S,
    Consent,
    ConsentEvent,
    ConsentKind,
    ConsentMethod,
    ConsentStatus,
    fintech_firm_text,
    new_validity,
    platform_firm_text,
    transition,
)
from backbone.open_platform.errors import (
    AlreadyApplied,
    AppNotInProduction,
    ConsentMethodRefused,
    ConsentRequestUsed,
    ConsentRequired,
    ConsentTransitionRefused,
    JourneyIncomplete,
    LimitExceeded,
    LinkRefused,
    NotAMember,
    UnknownConsent,
    UnknownConsentRequest,
    UnknownVirtualAccount,
    VirtualAccountExists,
)
from backbone.open_platform.firms import repository as firms_repository
from backbone.open_platform.firms.domain import PlatformFirm
from backbone.open_platform.journey import repository
from backbone.open_platform.journey.domain import (
    LINKS_PER_APP_MAX,
    ConsentRequest,
    LinkedAccount,
    Membership,
    MembershipStatus,
)
from backbone.open_platform.oauth import repository as oauth_repository
from backbone.open_platform.reads import Kept
from backbone.open_platform.virtual_accounts import repository as accounts_repository
from backbone.open_platform.virtual_accounts.domain import (
    VIRTUAL_ACCOUNTS_PER_MEMBER_MAX,
    IssueSource,
    VirtualAccount,
    VirtualAccountStatus,
    check_alias,
    draw_free_number,
    parse_number,
)
from backbone.open_platform.webhooks.domain import EventType
from backbone.open_platform.webhooks.service import Webhooks

PLATFORM_CONSENT_PURPOSE = "consent:platform-firm"
FINTECH_CONSENT_PURPOSE = "consent:fintech-firm"
CONSENT_JOB_BATCH_MAX = 500


@dataclass(frozen=True, slots=True)
class StartedConsent:
    request: ConsentRequest
    challenge: SigningChallenge | None
    ars_call: ArsCall | None
    ars_digits: str | None


@dataclass(frozen=True, slots=True)
class JourneyStep:
    step: str  # apply | virtual_account | platform_consent | link_accounts | fintech_consent
    firm_code: str | None
    detail: str


class Journey:
    def __init__(
        self,
        *,
        clock: Clock,
        ids: IdGenerator,
        identity: Identity,
        companies: Companies,
        webhooks: Webhooks,
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._linked: Kept[tuple[int, int, int], list[LinkedAccount]] = Kept()
        self._identity = identity
        self._companies = companies
        self._webhooks = webhooks

    # --- step 6-8: apply to use an app ----------------------------------------------------------

    def apply(self, session: Session, *, member_id: int, app: App) -> Membership:
        if not app.in_production:
            raise AppNotInProduction(f"{app.name} is not open to members yet")
        existing = repository.membership_of(session, member_id, app.id)
        now = self._clock.now()
        if existing is not None:
            if existing.is_active:
                raise AlreadyApplied(f"you already use {app.name}")
            repository.set_membership_status(session, existing.id, MembershipStatus.ACTIVE, None)
            self._audit(session, "membership.resumed", member_id=member_id, app_id=app.id)
            return self._membership(session, member_id, app.id)
        membership = Membership(
            id=self._ids.next(),
            member_id=member_id,
            app_id=app.id,
            subject=secrets.token_hex(16),
            status=MembershipStatus.ACTIVE,
            applied_at=now,
        )
        repository.insert_membership(session, membership)
        self._audit(session, "membership.applied", member_id=member_id, app_id=app.id)
        return membership

    def withdraw(self, session: Session, *, member_id: int, app: App) -> None:
        """Stop using an app: its links go, its refresh tokens are revoked, its reads stop."""
        membership = self._membership(session, member_id, app.id)
        repository.replace_links(session, membership=membership, virtual_account_ids=[], at=self._clock.now())
        repository.set_membership_status(
            session, membership.id, MembershipStatus.WITHDRAWN, self._clock.now()
        )
        oauth_repository.revoke_refresh_tokens(session, membership.id, self._clock.now())
        self._audit(session, "membership.withdrawn", member_id=member_id, app_id=app.id)

    def memberships(self, session: Session, member_id: int) -> list[Membership]:
        return repository.memberships_of_member(session, member_id)

    def membership(self, session: Session, *, member_id: int, app_id: int) -> Membership:
        return self._membership(session, member_id, app_id)

    # --- step 9: virtual accounts ---------------------------------------------------------------

    def issue_virtual_account(
        self, session: Session, *, member: Member, firm: PlatformFirm, confirmed: FirmAccount, alias: str
    ) -> VirtualAccount:
        """Issue a virtual account for a real account the firm has confirmed is the member's."""
        cleaned_alias = check_alias(alias or confirmed.alias or confirmed.display_number[-4:])
        for existing in accounts_repository.virtual_accounts_of_member(session, member.id, active_only=True):
            if existing.firm_id == firm.id and existing.real_number == confirmed.number:
                raise VirtualAccountExists(
                    "this account already has a virtual account", virtual_account=existing.number
                )
        if accounts_repository.count_of_member(session, member.id) >= VIRTUAL_ACCOUNTS_PER_MEMBER_MAX:
            raise LimitExceeded(f"a member has at most {VIRTUAL_ACCOUNTS_PER_MEMBER_MAX} virtual accounts")
        number = self._fresh_number(session)
        account = VirtualAccount(
            id=self._ids.next(),
            number=number,
            member_id=member.id,
            firm_id=firm.id,
            firm_code=firm.code,
            real_number=confirmed.number,
            alias=cleaned_alias,
            account_type=confirmed.account_type,
            source=IssueSource.LISTED if firm.supports(Capability.LIST_ACCOUNTS) else IssueSource.TYPED,
            status=VirtualAccountStatus.ACTIVE,
            issued_at=self._clock.now(),
        )
        accounts_repository.insert_virtual_account(session, account)
        self._audit(
            session,
            "virtual_account.issued",
            member_id=member.id,
            virtual_account_id=account.id,
            detail=f"{firm.code} ({account.source.value})",
        )
        return account

    def virtual_accounts(self, session: Session, member_id: int) -> list[VirtualAccount]:
        return accounts_repository.virtual_accounts_of_member(session, member_id, active_only=True)

    def virtual_account(self, session: Session, *, member_id: int, number: str) -> VirtualAccount:
        try:
            digits = parse_number(number)
        except Exception as error:
            raise UnknownVirtualAccount("no such virtual account of yours") from error
        account = accounts_repository.virtual_account_by_number(session, digits)
        if account is None or account.member_id != member_id or not account.is_active:
            raise UnknownVirtualAccount("no such virtual account of yours")
        return account

    def rename_virtual_account(
        self, session: Session, *, member_id: int, number: str, alias: str
    ) -> VirtualAccount:
        account = self.virtual_account(session, member_id=member_id, number=number)
        accounts_repository.update_alias(session, account.id, check_alias(alias))
        self._audit(session, "virtual_account.renamed", member_id=member_id, virtual_account_id=account.id)
        return self.virtual_account(session, member_id=member_id, number=number)

    def close_virtual_account(self, session: Session, *, member_id: int, number: str) -> None:
        account = self.virtual_account(session, member_id=member_id, number=number)
        apps = repository.unlink_account_everywhere(session, account.id)
        accounts_repository.close(session, account.id, self._clock.now())
        self._audit(
            session,
            "virtual_account.closed",
            member_id=member_id,
            virtual_account_id=account.id,
            detail=f"unlinked from {len(apps)} apps",
        )

    # --- step 11: the accounts an app may see ---------------------------------------------------

    def set_links(
        self, session: Session, *, member_id: int, app: App, numbers: Sequence[str]
    ) -> list[VirtualAccount]:
        membership = self._membership(session, member_id, app.id)
        if len(numbers) > LINKS_PER_APP_MAX:
            raise LimitExceeded(f"an app sees at most {LINKS_PER_APP_MAX} accounts")
        chosen = [self.virtual_account(session, member_id=member_id, number=number) for number in numbers]
        if len({account.id for account in chosen}) != len(chosen):
            raise LinkRefused("an account is listed twice")
        platform = consents_repository.current_consents(session, member_id, ConsentKind.PLATFORM_FIRM)
        now = self._clock.now()
        missing = sorted(
            {account.firm_code for account in chosen if not _valid(platform.get(account.firm_id), now)}
        )
        if missing:
            raise ConsentRequired(
                f"sign the platform consent for {', '.join(missing)} first",
                missing=missing,
                step="platform_consent",
            )
        repository.replace_links(
            session, membership=membership, virtual_account_ids=[account.id for account in chosen], at=now
        )
        self._audit(
            session,
            "links.set",
            member_id=member_id,
            app_id=app.id,
            detail=",".join(account.number for account in chosen) or "none",
        )
        return chosen

    def linked_accounts(self, session: Session, membership: Membership, app: App) -> list[LinkedAccount]:
        """The app's linked accounts with the consents that govern each (in link order); kept
        while the platform's revision stands (every open API call asks)."""
        return self._linked.get(
            session,
            (app.id, app.company_id, membership.member_id),
            lambda: repository.linked_accounts(
                session, app_id=app.id, company_id=app.company_id, member_id=membership.member_id
            ),
        )

    # --- steps 10 and 12: consents --------------------------------------------------------------

    def start_platform_consent(
        self, session: Session, *, member: Member, firm: PlatformFirm
    ) -> StartedConsent:
        text = platform_firm_text(member_name=member.name, firm_name=firm.name_ko, firm_code=firm.code)
        current = consents_repository.current_consents(session, member.id, ConsentKind.PLATFORM_FIRM).get(
            firm.id
        )
        new_validity(self._clock.now(), current)  # refuses early renewal before anything is issued
        challenge = self._identity.signing.issue(
            session, purpose=PLATFORM_CONSENT_PURPOSE, text=text, member_id=member.id
        )
        request = self._insert_request(
            session,
            member_id=member.id,
            kind=ConsentKind.PLATFORM_FIRM,
            firm_ids=[firm.id],
            company_id=None,
            app_id=None,
            method=ConsentMethod.CERTIFICATE,
            text=text,
            challenge_id=challenge.id,
            ars_call_id=None,
        )
        return StartedConsent(request, challenge, None, None)

    def start_fintech_consent(
        self, session: Session, *, member: Member, session_id: int | None, app: App, method: ConsentMethod
    ) -> StartedConsent:
        if method not in ALLOWED_METHODS[ConsentKind.FINTECH_FIRM]:
            raise ConsentMethodRefused(f"the fintech consent cannot be given by {method.value}")
        membership = self._membership(session, member.id, app.id)
        linked = self.linked_accounts(session, membership, app)
        if not linked:
            raise ConsentRequired("choose the accounts the app may see first", step="link_accounts")
        firms = sorted({item.firm.id: item.firm for item in linked}.values(), key=lambda firm: firm.code)
        if len(firms) > FIRMS_PER_CONSENT_MAX:
            raise LimitExceeded(f"one consent names at most {FIRMS_PER_CONSENT_MAX} firms")
        company = self._companies.company(session, app.company_id)
        text = fintech_firm_text(
            member_name=member.name,
            company_name=company.name,
            app_name=app.name,
            firms=[(firm.name_ko, firm.code) for firm in firms],
        )
        challenge: SigningChallenge | None = None
        call: ArsCall | None = None
        digits: str | None = None
        if method is ConsentMethod.CERTIFICATE:
            challenge = self._identity.signing.issue(
                session, purpose=FINTECH_CONSENT_PURPOSE, text=text, member_id=member.id
            )
        else:
            call, digits = self._identity.ars.call(
                session, member=member, purpose=FINTECH_CONSENT_PURPOSE, text=text, session_id=session_id
            )
        request = self._insert_request(
            session,
            member_id=member.id,
            kind=ConsentKind.FINTECH_FIRM,
            firm_ids=[firm.id for firm in firms],
            company_id=company.id,
            app_id=app.id,
            method=method,
            text=text,
            challenge_id=None if challenge is None else challenge.id,
            ars_call_id=None if call is None else call.id,
        )
        return StartedConsent(request, challenge, call, digits)

    def complete_consent(
        self, session: Session, *, member_id: int, request_id: int, signed_data: bytes | None
    ) -> list[Consent]:
        """Prove the request (CMS signature, or the confirmed ARS call) and make its consents.

        Run it inside `identity.attempts.counting`, so a bad signature stays counted."""
        request = repository.consent_request(session, request_id)
        if request is None or request.member_id != member_id:
            raise UnknownConsentRequest(f"no consent request {request_id} of yours")
        now = self._clock.now()
        if request.completed_at is not None or now >= request.expires_at:
            raise ConsentRequestUsed("this request is completed or expired; start again")
        signature_id: int | None = None
        ars_call_id: int | None = None
        if request.method is ConsentMethod.CERTIFICATE:
            if request.challenge_id is None or not signed_data:
                raise ConsentMethodRefused("send the CMS signature over the issued document")
            verified = self._identity.signing.verify(
                session, challenge_id=request.challenge_id, signed_data=signed_data, member_id=member_id
            )
            signature_id = verified.signature_id
        else:
            if request.ars_call_id is None:
                raise ConsentMethodRefused("this request has no ARS call")
            call = self._identity.ars.confirmed(
                session, request.ars_call_id, member_id=member_id, purpose=FINTECH_CONSENT_PURPOSE
            )
            ars_call_id = call.id
        if not consents_repository.complete_request(session, request.id, now):
            raise ConsentRequestUsed("this request is already completed")
        made = []
        current = consents_repository.current_consents(
            session, member_id, request.kind, company_id=request.company_id
        )
        for firm_id in request.firm_ids:
            previous = current.get(firm_id)
            signed_at, expires_at = new_validity(now, previous)
            consent = Consent(
                id=self._ids.next(),
                kind=request.kind,
                member_id=member_id,
                firm_id=firm_id,
                company_id=request.company_id,
                method=request.method,
                signature_id=signature_id,
                ars_call_id=ars_call_id if firm_id == request.firm_ids[0] else None,
                document_text=request.text,
                status=ConsentStatus.ACTIVE,
                signed_at=signed_at,
                expires_at=expires_at,
                ended_at=None,
            )
            consents_repository.insert_consent(session, consent, request.id)
            self._audit(
                session,
                "consent.signed",
                member_id=member_id,
                consent_id=consent.id,
                company_id=request.company_id,
                detail=(
                    f"{request.kind.value} firm {firm_id} by {request.method.value} "
                    f"until {expires_at.isoformat()}"
                ),
            )
            if previous is not None and previous.status in (ConsentStatus.ACTIVE, ConsentStatus.EXPIRED):
                self._end(session, previous, ConsentEvent.RENEW, renewed_by=consent.id)
                self._notify(session, previous, EventType.CONSENT_RENEWED, renewed_by=consent)
            made.append(consent)
        return made

    def consents(self, session: Session, member_id: int) -> list[Consent]:
        return consents_repository.consents_of_member(session, member_id)

    def revoke(self, session: Session, *, member_id: int, consent_id: int) -> Consent:
        consent = consents_repository.consent_by_id(session, consent_id)
        if consent is None or consent.member_id != member_id:
            raise UnknownConsent(f"no consent {consent_id} of yours")
        if consent.effective_status(self._clock.now()) is not ConsentStatus.ACTIVE:
            raise ConsentTransitionRefused(
                f"the consent is {consent.effective_status(self._clock.now()).value}"
            )
        self._end(session, consent, ConsentEvent.REVOKE)
        self._notify(session, consent, EventType.CONSENT_REVOKED)
        return present_consent(session, consent_id)

    def expire_lapsed(self, session: Session) -> int:
        """Mark consents past their time as expired and tell the apps. Correctness never waits for
        this job (reads check the time themselves); it exists for the `consent.expired` events."""
        lapsed = consents_repository.lapsed_active(session, self._clock.now(), CONSENT_JOB_BATCH_MAX)
        for consent in lapsed:
            if self._end(session, consent, ConsentEvent.EXPIRE, actor="system"):
                self._notify(session, consent, EventType.CONSENT_EXPIRED)
        return len(lapsed)

    # --- where the member stands ----------------------------------------------------------------

    def missing_steps(self, session: Session, *, member_id: int, app: App) -> list[JourneyStep]:
        membership = repository.membership_of(session, member_id, app.id)
        if membership is None or not membership.is_active:
            return [JourneyStep("apply", None, f"apply to use {app.name}")]
        if not accounts_repository.virtual_accounts_of_member(session, member_id, active_only=True):
            return [JourneyStep("virtual_account", None, "issue a virtual account at a securities firm")]
        linked = self.linked_accounts(session, membership, app)
        if not linked:
            return [JourneyStep("link_accounts", None, f"choose the accounts {app.name} may see")]
        now = self._clock.now()
        steps: list[JourneyStep] = []
        for item in linked:
            if not _valid(item.platform_consent, now):
                steps.append(JourneyStep("platform_consent", item.firm.code, "sign the platform consent"))
            if not _valid(item.fintech_consent, now):
                steps.append(JourneyStep("fintech_consent", item.firm.code, "sign the fintech consent"))
        unique = {(step.step, step.firm_code): step for step in steps}
        return list(unique.values())

    def require_complete(self, session: Session, *, member_id: int, app: App) -> Membership:
        steps = self.missing_steps(session, member_id=member_id, app=app)
        if steps:
            raise JourneyIncomplete(
                f"complete these steps for {app.name} in the portal first: "
                + ", ".join(step.step + (f" ({step.firm_code})" if step.firm_code else "") for step in steps),
                missing=[
                    {"step": step.step, "firm": step.firm_code, "detail": step.detail} for step in steps
                ],
            )
        return self._membership(session, member_id, app.id)

    # --- internals ------------------------------------------------------------------------------

    def _membership(self, session: Session, member_id: int, app_id: int) -> Membership:
        membership = repository.membership_of(session, member_id, app_id)
        if membership is None or not membership.is_active:
            raise NotAMember("apply to use this app first", step="apply")
        return membership

    def _fresh_number(self, session: Session) -> str:
        return draw_free_number(lambda number: accounts_repository.number_taken(session, number))

    def _insert_request(
        self,
        session: Session,
        *,
        member_id: int,
        kind: ConsentKind,
        firm_ids: list[int],
        company_id: int | None,
        app_id: int | None,
        method: ConsentMethod,
        text: str,
        challenge_id: int | None,
        ars_call_id: int | None,
    ) -> ConsentRequest:
        now = self._clock.now()
        request_id = self._ids.next()
        consents_repository.insert_request(
            session,
            request_id=request_id,
            member_id=member_id,
            kind=kind,
            firm_ids=firm_ids,
            company_id=company_id,
            app_id=app_id,
            method=method,
            text=text,
            challenge_id=challenge_id,
            ars_call_id=ars_call_id,
            created_at=now,
            expires_at=now + timedelta(seconds=REQUEST_TTL_S),
        )
        request = repository.consent_request(session, request_id)
        if request is None:
            raise UnknownConsentRequest("the request vanished")
        return request

    def _end(
        self,
        session: Session,
        consent: Consent,
        event: ConsentEvent,
        *,
        renewed_by: int | None = None,
        actor: str = "member",
    ) -> bool:
        before = consent.status
        after = transition(before, event)
        changed = consents_repository.set_status(
            session, consent.id, expected=before, status=after, at=self._clock.now(), renewed_by=renewed_by
        )
        if changed:
            self._audit(
                session,
                f"consent.{event.value}",
                member_id=consent.member_id,
                consent_id=consent.id,
                company_id=consent.company_id,
                actor=actor,
                detail=f"{before.value} -> {after.value}",
            )
        return changed

    def _notify(
        self, session: Session, consent: Consent, event_type: EventType, *, renewed_by: Consent | None = None
    ) -> None:
        firm = firms_repository.firm_by_id(session, consent.firm_id)
        for app_id in repository.apps_linked_at_firm(
            session, consent.member_id, consent.firm_id, consent.company_id
        ):
            membership = repository.membership_of(session, consent.member_id, app_id)
            if membership is None:
                continue
            data: dict[str, Any] = {
                "consent_id": str(consent.id),
                "kind": consent.kind.value,
                "firm": None if firm is None else firm.code,
                "subject": membership.subject,
                "expires_at": consent.expires_at.isoformat(),
                "renewed_by": None if renewed_by is None else str(renewed_by.id),
                "new_expires_at": None if renewed_by is None else renewed_by.expires_at.isoformat(),
            }
            self._webhooks.enqueue(session, app_id=app_id, event_type=event_type, data=data)

    def _audit(
        self,
        session: Session,
        action: str,
        *,
        member_id: int | None = None,
        app_id: int | None = None,
        company_id: int | None = None,
        consent_id: int | None = None,
        virtual_account_id: int | None = None,
        actor: str = "member",
        detail: str = "",
    ) -> None:
        record_change(
            session,
            audit_id=self._ids.next(),
            at=self._clock.now(),
            action=action,
            actor=actor,
            member_id=member_id,
            app_id=app_id,
            company_id=company_id,
            consent_id=consent_id,
            virtual_account_id=virtual_account_id,
            detail=detail,
        )


def _valid(consent: Consent | None, now: datetime) -> bool:
    return consent is not None and consent.is_valid(now)


def present_consent(session: Session, consent_id: int) -> Consent:
    consent = consents_repository.consent_by_id(session, consent_id)
    if consent is None:
        raise UnknownConsent(f"no consent {consent_id}")
    return consent
