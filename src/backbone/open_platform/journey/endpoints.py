"""The portal's side of the open platform, under /api/v1/platform: the journey (steps 6-12),
가상계좌 관리 and 동의서 관리. Every route needs the member's portal session; state changes need
the CSRF header too (identity's `CurrentMemberDep`); issuing a virtual account needs the
`link_account` assurance."""

from __future__ import annotations

import base64
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.orm import Session

from backbone.dependencies import service
from backbone.identity.attempts import counting
from backbone.identity.dependencies import CurrentMemberDep, requires
from backbone.identity.domain import CurrentMember, Operation
from backbone.identity.service import Identity
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.open_platform.adapters.interface import Capability, FirmError, FirmRefusal
from backbone.open_platform.companies.domain import App
from backbone.open_platform.errors import AccountNotOwned, CapabilityMissing, FirmUnavailable, UnknownApp
from backbone.open_platform.journey.schemas import (
    AliasIn,
    ApplyIn,
    CatalogAppOut,
    CompleteIn,
    ConsentOut,
    ConsentRequestOut,
    FintechConsentIn,
    FirmAccountOut,
    IssueIn,
    JourneyOut,
    LinksIn,
    MembershipOut,
    PlatformConsentIn,
    PortalFirmOut,
    StepOut,
    VirtualAccountOut,
)
from backbone.open_platform.journey.service import StartedConsent
from backbone.open_platform.services import OpenPlatform

router = APIRouter(prefix="/api/v1/platform", tags=["open platform: portal"])
LinkingMember = Annotated[CurrentMember, requires(Operation.LINK_ACCOUNT)]


def _platform(request: Request) -> OpenPlatform:
    return cast(OpenPlatform, service(request, "open_platform"))


def _database(request: Request) -> Database:
    return cast(Database, service(request, "database"))


def _identity(request: Request) -> Identity:
    return cast(Identity, service(request, "identity"))


def _clock(request: Request) -> Clock:
    return cast(Clock, service(request, "clock"))


PlatformDep = Annotated[OpenPlatform, Depends(_platform)]
DatabaseDep = Annotated[Database, Depends(_database)]
IdentityDep = Annotated[Identity, Depends(_identity)]
ClockDep = Annotated[Clock, Depends(_clock)]


def _production_app(platform: OpenPlatform, session: Session, client_id: str) -> App:
    app = platform.companies.app_by_client_id(session, client_id)
    if app is None or not app.in_production:
        raise UnknownApp(f"no app {client_id[:64]!r} open to members")
    return app


# --- steps 6-8: apps ----------------------------------------------------------------------------


@router.get("/apps", summary="Apps members can apply to use (step 7)")
def catalog(_member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep) -> list[CatalogAppOut]:
    with database.reading() as session:
        return [CatalogAppOut.of(app) for app in platform.companies.catalog(session)]


@router.post("/memberships", status_code=status.HTTP_201_CREATED, summary="Apply to use an app (step 8)")
def apply(
    body: ApplyIn, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> MembershipOut:
    with database.transaction() as session:
        app = _production_app(platform, session, body.client_id)
        return MembershipOut.of(platform.journey.apply(session, member_id=member.member_id, app=app), app)


@router.get("/memberships", summary="The apps I use")
def memberships(
    member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> list[MembershipOut]:
    with database.reading() as session:
        return [
            MembershipOut.of(item, platform.companies.app(session, item.app_id))
            for item in platform.journey.memberships(session, member.member_id)
        ]


@router.delete(
    "/memberships/{client_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Stop using an app"
)
def withdraw(client_id: str, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep) -> None:
    with database.transaction() as session:
        app = _production_app(platform, session, client_id)
        platform.journey.withdraw(session, member_id=member.member_id, app=app)


@router.get("/memberships/{client_id}/journey", summary="What is left before the app may read")
def journey(
    client_id: str, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> JourneyOut:
    with database.reading() as session:
        app = _production_app(platform, session, client_id)
        steps = platform.journey.missing_steps(session, member_id=member.member_id, app=app)
    return JourneyOut(
        client_id=client_id,
        complete=not steps,
        missing=[StepOut(step=step.step, firm=step.firm_code, detail=step.detail) for step in steps],
    )


# --- step 9: virtual accounts -------------------------------------------------------------------


@router.get("/firms", summary="Securities firms on the platform, and whether each lists accounts")
def firms(_member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep) -> list[PortalFirmOut]:
    with database.reading() as session:
        return [PortalFirmOut.of(firm) for firm in platform.firms.firms(session)]


@router.get("/firms/{firm}/accounts", summary="My accounts at a firm that lists them (step 9)")
def firm_accounts(
    firm: str, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> list[FirmAccountOut]:
    with database.reading() as session:
        found = platform.firms.firm(session, firm)
        issued = {
            account.real_number: account.number
            for account in platform.journey.virtual_accounts(session, member.member_id)
            if account.firm_id == found.id
        }
    if not found.supports(Capability.LIST_ACCOUNTS):
        raise CapabilityMissing(f"{found.code} does not list accounts: type the account number instead")
    try:
        listed = platform.firms.adapter(found).accounts(member.personal_identifier)
    except (FirmError, FirmRefusal) as error:
        raise FirmUnavailable(f"{found.code} did not answer; try again", firm=found.code) from error
    return [
        FirmAccountOut(
            number=account.display_number,
            account_type=account.account_type,
            alias=account.alias,
            virtual_account_number=issued.get(account.number),
        )
        for account in listed
    ]


@router.post(
    "/virtual-accounts", status_code=status.HTTP_201_CREATED, summary="Issue a virtual account (step 9)"
)
def issue(
    body: IssueIn, member: LinkingMember, database: DatabaseDep, platform: PlatformDep, identity: IdentityDep
) -> VirtualAccountOut:
    """For a firm that lists accounts, send one of the listed numbers; for one that does not, type
    the real number: either way the firm confirms the account is yours before anything is issued."""
    with database.reading() as session:
        firm = platform.firms.firm(session, body.firm)
    try:
        confirmed = platform.firms.adapter(firm).account(member.personal_identifier, body.account_number)
    except FirmRefusal as error:
        raise AccountNotOwned(f"{firm.code} has no such account of yours") from error
    except FirmError as error:
        raise FirmUnavailable(f"{firm.code} did not answer; try again", firm=firm.code) from error
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        account = platform.journey.issue_virtual_account(
            session, member=details, firm=firm, confirmed=confirmed, alias=body.alias
        )
    return VirtualAccountOut.of(account)


@router.get("/virtual-accounts", summary="가상계좌 관리: my virtual accounts")
def virtual_accounts(
    member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> list[VirtualAccountOut]:
    with database.reading() as session:
        return [
            VirtualAccountOut.of(item)
            for item in platform.journey.virtual_accounts(session, member.member_id)
        ]


@router.patch("/virtual-accounts/{number}", summary="Rename a virtual account")
def rename(
    number: str, body: AliasIn, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> VirtualAccountOut:
    with database.transaction() as session:
        return VirtualAccountOut.of(
            platform.journey.rename_virtual_account(
                session, member_id=member.member_id, number=number, alias=body.alias
            )
        )


@router.delete(
    "/virtual-accounts/{number}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Close a virtual account (every app stops seeing it)",
)
def close(number: str, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep) -> None:
    with database.transaction() as session:
        platform.journey.close_virtual_account(session, member_id=member.member_id, number=number)


# --- step 11: the accounts an app may see -------------------------------------------------------


@router.put("/memberships/{client_id}/accounts", summary="Choose the accounts the app may see (step 11)")
def set_links(
    client_id: str, body: LinksIn, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> list[VirtualAccountOut]:
    with database.transaction() as session:
        app = _production_app(platform, session, client_id)
        chosen = platform.journey.set_links(
            session, member_id=member.member_id, app=app, numbers=body.virtual_account_numbers
        )
    return [VirtualAccountOut.of(item) for item in chosen]


@router.get("/memberships/{client_id}/accounts", summary="The accounts the app may see")
def links(
    client_id: str, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> list[VirtualAccountOut]:
    with database.reading() as session:
        app = _production_app(platform, session, client_id)
        membership = platform.journey.membership(session, member_id=member.member_id, app_id=app.id)
        return [
            VirtualAccountOut.of(item.virtual_account)
            for item in platform.journey.linked_accounts(session, membership, app)
        ]


# --- steps 10 and 12: consents ------------------------------------------------------------------


def _started(started: StartedConsent) -> ConsentRequestOut:
    request = started.request
    return ConsentRequestOut(
        request_id=str(request.id),
        kind=request.kind.value,
        method=request.method.value,
        text=request.text,
        expires_at=request.expires_at,
        challenge_id=None if started.challenge is None else str(started.challenge.id),
        document=None if started.challenge is None else base64.b64encode(started.challenge.document).decode(),
        ars_call_id=None if started.ars_call is None else str(started.ars_call.id),
        ars_digits=started.ars_digits,
    )


@router.post(
    "/consent-requests/platform-firm",
    status_code=status.HTTP_201_CREATED,
    summary="Start the platform↔firm consent (step 10): the document to sign",
)
def start_platform_consent(
    body: PlatformConsentIn,
    member: CurrentMemberDep,
    database: DatabaseDep,
    platform: PlatformDep,
    identity: IdentityDep,
) -> ConsentRequestOut:
    with database.transaction() as session:
        firm = platform.firms.firm(session, body.firm)
        details = identity.members.member(session, member.member_id)
        return _started(platform.journey.start_platform_consent(session, member=details, firm=firm))


@router.post(
    "/consent-requests/fintech-firm",
    status_code=status.HTTP_201_CREATED,
    summary="Start the fintech↔firm consent (step 12): a document to sign, or an ARS call",
)
def start_fintech_consent(
    body: FintechConsentIn,
    member: CurrentMemberDep,
    database: DatabaseDep,
    platform: PlatformDep,
    identity: IdentityDep,
) -> ConsentRequestOut:
    with database.transaction() as session:
        app = _production_app(platform, session, body.client_id)
        details = identity.members.member(session, member.member_id)
        return _started(
            platform.journey.start_fintech_consent(
                session, member=details, session_id=member.session_id, app=app, method=body.method
            )
        )


@router.post(
    "/consent-requests/{request_id}/complete",
    status_code=status.HTTP_201_CREATED,
    summary="Complete a consent: the CMS signature, or (ARS) after the call was confirmed",
)
def complete(
    request_id: int,
    body: CompleteIn,
    member: CurrentMemberDep,
    database: DatabaseDep,
    platform: PlatformDep,
    clock: ClockDep,
) -> list[ConsentOut]:
    signed = None
    if body.signed_data is not None:
        try:
            signed = base64.b64decode(body.signed_data.strip(), validate=True)
        except (ValueError, TypeError):
            signed = b"\x00"  # refused by the verifier as malformed, and counted as a bad attempt

    def work(session: Session) -> list[ConsentOut]:
        made = platform.journey.complete_consent(
            session, member_id=member.member_id, request_id=request_id, signed_data=signed
        )
        now = clock.now()
        firms = {firm.id: firm.code for firm in platform.firms.firms(session)}
        return [ConsentOut.of(consent, firms.get(consent.firm_id, ""), now) for consent in made]

    return counting(database, work)


@router.get("/consents", summary="동의서 관리: my consents, with their state now")
def consents(
    member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep, clock: ClockDep
) -> list[ConsentOut]:
    with database.reading() as session:
        firms = {firm.id: firm.code for firm in platform.firms.firms(session)}
        now = clock.now()
        return [
            ConsentOut.of(consent, firms.get(consent.firm_id, ""), now)
            for consent in platform.journey.consents(session, member.member_id)
        ]


@router.post("/consents/{consent_id}/revoke", summary="Revoke a consent: effective on the next API call")
def revoke(
    consent_id: int, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep, clock: ClockDep
) -> ConsentOut:
    with database.transaction() as session:
        consent = platform.journey.revoke(session, member_id=member.member_id, consent_id=consent_id)
        firms = {firm.id: firm.code for firm in platform.firms.firms(session)}
        return ConsentOut.of(consent, firms.get(consent.firm_id, ""), clock.now())
