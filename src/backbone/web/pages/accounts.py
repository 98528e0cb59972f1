"""가상계좌 관리 (seed 002, screen 9 and its management screen), the platform↔firm consent signed by
certificate (screen 10), 동의서 관리 (expiry, re-consent, revoke) and 통합계좌조회.

Firms that list a person's accounts show them to choose from; for the others the member types the
real number. Either way the firm confirms the account is the member's before the platform issues
a virtual account (`platform.journey.issue_virtual_account`), which needs the `link_account`
assurance as the API does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backbone.errors import BackboneError
from backbone.identity.domain import CurrentMember, Operation
from backbone.identity.errors import StepUpRequired
from backbone.open_platform.adapters.interface import Capability, FirmAccount, FirmError, FirmRefusal
from backbone.open_platform.companies.domain import App
from backbone.open_platform.consents.domain import Consent, ConsentKind, ConsentStatus
from backbone.open_platform.errors import AccountNotOwned, FirmUnavailable
from backbone.open_platform.firms.domain import PlatformFirm
from backbone.web.charts import portfolio_slices
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import ClockDep, DatabaseDep, IdentityDep, PlatformDep, PostedForm
from backbone.web.rendering import page, redirect
from backbone.web.security import safe_next
from backbone.web.session import required_member

router = APIRouter()


@dataclass(frozen=True, slots=True)
class FirmChoice:
    firm: PlatformFirm
    listed: list[FirmAccount] | None  # None: the firm does not list accounts (type the number)
    issued: dict[str, str]  # real number → virtual number
    unavailable: bool


def _cleared(identity: IdentityDep, member: CurrentMember, operation: Operation) -> bool:
    try:
        identity.step_up.require(member, operation)
    except StepUpRequired:
        return False
    return True


def _firm_choice(
    platform: PlatformDep, member: CurrentMember, firm: PlatformFirm, issued: dict[str, str]
) -> FirmChoice:
    if not firm.supports(Capability.LIST_ACCOUNTS):
        return FirmChoice(firm, None, issued, unavailable=False)
    try:
        listed = platform.firms.adapter(firm).accounts(member.personal_identifier)
    except (FirmError, FirmRefusal):
        return FirmChoice(firm, [], issued, unavailable=True)
    return FirmChoice(firm, listed, issued, unavailable=False)


# --- 가상계좌 관리 -------------------------------------------------------------------------------


def _accounts_page(
    request: Request,
    member: CurrentMember,
    database: DatabaseDep,
    platform: PlatformDep,
    identity: IdentityDep,
    *,
    form: Form | None = None,
    status: int = 200,
) -> HTMLResponse:
    with database.reading() as session:
        firms = platform.firms.firms(session)
        accounts = platform.journey.virtual_accounts(session, member.member_id)
    choices = [
        _firm_choice(
            platform,
            member,
            firm,
            {account.real_number: account.number for account in accounts if account.firm_id == firm.id},
        )
        for firm in firms
    ]
    return page(
        request,
        "pages/accounts/index.html",
        status=status,
        member=member,
        accounts=accounts,
        firm_names={firm.code: firm for firm in firms},
        choices=choices,
        cleared=_cleared(identity, member, Operation.LINK_ACCOUNT),
        next_path=safe_next(request.query_params.get("next"), ""),
        issued=bool(request.query_params.get("issued")),
        form=form or Form(),
    )


@router.get("/virtual-accounts", response_class=HTMLResponse)
def virtual_accounts(
    request: Request, database: DatabaseDep, platform: PlatformDep, identity: IdentityDep
) -> HTMLResponse:
    return _accounts_page(request, required_member(request), database, platform, identity)


@router.post("/virtual-accounts", response_class=HTMLResponse)
def issue(
    request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep, identity: IdentityDep
) -> Response:
    member = required_member(request)
    form.required(("firm", "account_number"))
    if form.valid:
        try:
            identity.step_up.require(member, Operation.LINK_ACCOUNT)
            _issue(member, form, database, platform, identity)
        except BackboneError as error:
            field = "account_number" if isinstance(error, AccountNotOwned | FirmUnavailable) else FORM
            form.refused(error, field_name="alias" if error.code == "platform.invalid_alias" else field)
    if not form.valid:
        return _accounts_page(request, member, database, platform, identity, form=form, status=422)
    next_path = safe_next(form.values.get("next"), "/virtual-accounts")
    return redirect(request, next_path if next_path != "/virtual-accounts" else "/virtual-accounts?issued=1")


def _issue(
    member: CurrentMember, form: Form, database: DatabaseDep, platform: PlatformDep, identity: IdentityDep
) -> None:
    with database.reading() as session:
        firm = platform.firms.firm(session, form.values["firm"])
    try:
        confirmed = platform.firms.adapter(firm).account(
            member.personal_identifier, form.values["account_number"]
        )
    except FirmRefusal as error:
        raise AccountNotOwned(f"{firm.code} has no such account of yours") from error
    except FirmError as error:
        raise FirmUnavailable(f"{firm.code} did not answer; try again", firm=firm.code) from error
    with database.transaction() as session:
        details = identity.members.member(session, member.member_id)
        platform.journey.issue_virtual_account(
            session, member=details, firm=firm, confirmed=confirmed, alias=form.values.get("alias", "")
        )


@router.post("/virtual-accounts/{number}/rename", response_class=HTMLResponse)
def rename(
    number: str,
    request: Request,
    form: PostedForm,
    database: DatabaseDep,
    platform: PlatformDep,
    identity: IdentityDep,
) -> Response:
    member = required_member(request)
    try:
        with database.transaction() as session:
            platform.journey.rename_virtual_account(
                session, member_id=member.member_id, number=number, alias=form.values.get("alias", "")
            )
    except BackboneError as error:
        form.refused(error, field_name=f"alias_{number}")
        return _accounts_page(request, member, database, platform, identity, form=form, status=422)
    return redirect(request, "/virtual-accounts#manage")


@router.post("/virtual-accounts/{number}/close")
def close(
    number: str, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    del form  # CSRF checked
    member = required_member(request)
    with database.transaction() as session:
        platform.journey.close_virtual_account(session, member_id=member.member_id, number=number)
    return redirect(request, "/virtual-accounts#manage")


# --- screen 10: the platform↔firm consent, signed by certificate --------------------------------


@router.get("/consents/platform/{firm_code}", response_class=HTMLResponse)
def platform_consent(
    firm_code: str, request: Request, database: DatabaseDep, platform: PlatformDep, identity: IdentityDep
) -> HTMLResponse:
    """The document is issued with the page: what the member reads is what the browser signs."""
    member = required_member(request)
    with database.transaction() as session:
        firm = platform.firms.firm(session, firm_code)
        details = identity.members.member(session, member.member_id)
        started = platform.journey.start_platform_consent(session, member=details, firm=firm)
    return page(
        request,
        "pages/consents/platform.html",
        member=member,
        firm=firm,
        started=started,
        done_url=safe_next(request.query_params.get("next"), "/consents?signed=platform"),
    )


# --- 동의서 관리 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentRow:
    consent: Consent
    firm: PlatformFirm | None
    company_name: str
    status: ConsentStatus
    renewable: bool
    renew_url: str | None


def _consent_rows(platform: PlatformDep, session: Any, member_id: int, now: datetime) -> list[ConsentRow]:
    firms = {firm.id: firm for firm in platform.firms.firms(session)}
    apps_by_company: dict[int, App] = {}
    for membership in platform.journey.memberships(session, member_id):
        if membership.is_active:
            app = platform.companies.app(session, membership.app_id)
            apps_by_company.setdefault(app.company_id, app)
    rows = []
    for consent in platform.journey.consents(session, member_id):
        status = consent.effective_status(now)
        if status not in (ConsentStatus.ACTIVE, ConsentStatus.EXPIRED, ConsentStatus.REVOKED):
            continue  # renewed consents live on in their successor
        firm = firms.get(consent.firm_id)
        company = (
            None if consent.company_id is None else platform.companies.company(session, consent.company_id)
        )
        renewable = status is ConsentStatus.EXPIRED or (
            status is ConsentStatus.ACTIVE and now >= consent.renewable_from
        )
        renew_url = None
        if renewable and consent.kind is ConsentKind.PLATFORM_FIRM and firm is not None:
            renew_url = f"/consents/platform/{firm.code}?next=/consents?signed=platform"
        elif renewable and consent.company_id in apps_by_company:
            renew_url = f"/services/{apps_by_company[consent.company_id].client_id}/consent"
        rows.append(
            ConsentRow(consent, firm, "" if company is None else company.name, status, renewable, renew_url)
        )
    return rows


@router.get("/consents", response_class=HTMLResponse)
def consents(request: Request, database: DatabaseDep, platform: PlatformDep, clock: ClockDep) -> HTMLResponse:
    member = required_member(request)
    with database.reading() as session:
        rows = _consent_rows(platform, session, member.member_id, clock.now())
    return page(
        request,
        "pages/consents/index.html",
        member=member,
        rows=rows,
        notice=next((name for name in ("revoked", "signed") if request.query_params.get(name)), None),
    )


@router.post("/consents/{consent_id}/revoke")
def revoke(
    consent_id: int, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    del form  # CSRF checked
    member = required_member(request)
    with database.transaction() as session:
        platform.journey.revoke(session, member_id=member.member_id, consent_id=consent_id)
    return redirect(request, "/consents?revoked=1")


# --- 통합계좌조회 -------------------------------------------------------------------------------


@router.get("/inquiry", response_class=HTMLResponse)
def inquiry(request: Request, platform: PlatformDep) -> HTMLResponse:
    member = required_member(request)
    accounts = platform.inquiry.own_accounts(member.member_id)
    balances = [item.balance for item in accounts if item.balance is not None]
    return page(
        request,
        "pages/inquiry.html",
        member=member,
        accounts=accounts,
        totals={
            "cash": sum(balance.cash_second_day_won for balance in balances),
            "valuation": sum(balance.valuation_won for balance in balances),
            "profit": sum(balance.profit_won for balance in balances),
            "assets": sum(balance.total_assets_won for balance in balances),
        },
        chart=portfolio_slices(balances),
    )
