"""앱 사용 신청 (seed 002, screens 6-12): choose an app, apply, choose the accounts it may see, and
give the fintech↔firm consent by certificate signature or ARS. The journey's rules are the open
platform's (`platform.journey`): these handlers only gather what a screen shows and post what the
member chose.

An app's OAuth authorization request lands here too: `/oauth/authorize` needs the portal session
(a visitor logs in first and comes back), and an unfinished journey sends the member to its app's
page, which remembers the request and offers the way back to the app once every step is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backbone.errors import BackboneError
from backbone.identity.attempts import counting
from backbone.identity.domain import CurrentMember
from backbone.open_platform.companies.domain import App
from backbone.open_platform.consents.domain import ConsentKind, ConsentMethod
from backbone.open_platform.errors import UnknownApp
from backbone.open_platform.journey.service import JourneyStep, StartedConsent
from backbone.web.errors import here
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import ClockDep, DatabaseDep, IdentityDep, PlatformDep, PostedForm
from backbone.web.rendering import fragment, page, redirect
from backbone.web.security import NEXT_PATH_LENGTH_MAX, form_token, safe_next, settings_of
from backbone.web.session import required_member

router = APIRouter(prefix="/services")

# The app's authorization request waiting for the journey: an HttpOnly cookie for half an hour.
AUTHORIZE_COOKIE = "backbone_authorize"
AUTHORIZE_COOKIE_MAX_AGE_S = 1_800
ARS_POLL_S = 2
STEP_ORDER = ("apply", "virtual_account", "platform_consent", "link_accounts", "fintech_consent")


@dataclass(frozen=True, slots=True)
class StepView:
    name: str
    state: str  # done | current | todo
    firms: tuple[str, ...]  # the firms the step still needs (consents)


def production_app(platform: PlatformDep, session: Any, client_id: str) -> App:
    app = platform.companies.app_by_client_id(session, client_id[:64])
    if app is None or not app.in_production:
        raise UnknownApp(f"no app {client_id[:64]!r} open to members")
    return app


def step_views(missing: list[JourneyStep], unsigned_firms: list[str]) -> list[StepView]:
    """Seed 002's steps 8-12 in order, from what the platform says is missing; the first step not
    done is current. `unsigned_firms` are the member's firms without a platform consent in force."""
    names = {step.step for step in missing}
    views: list[StepView] = []
    blocked = False
    for name in STEP_ORDER:
        firms = tuple(sorted({step.firm_code for step in missing if step.step == name and step.firm_code}))
        if name == "platform_consent" and "link_accounts" in names:
            firms = tuple(unsigned_firms)
            needed = bool(firms)
        else:
            needed = name in names
        if blocked or needed:
            views.append(StepView(name, "todo" if blocked else "current", firms))
            blocked = True
        else:
            views.append(StepView(name, "done", firms))
    return views


def waiting_authorization(request: Request, client_id: str) -> str | None:
    """The app's authorization request this browser brought, if it is for this app."""
    url = request.cookies.get(AUTHORIZE_COOKIE, "")
    if not url.startswith("/oauth/authorize?"):
        return None
    asked = parse_qs(urlsplit(url).query).get("client_id", [""])[0]
    return url if asked == client_id else None


def authorization_detour(request: Request, error: BackboneError) -> Response | None:
    """An app's authorization request from a member who has not finished its journey: to the app's
    page, remembering the request so the page can send the member back to the app at the end."""
    if request.url.path != "/oauth/authorize" or error.code != "platform.journey_incomplete":
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None  # not a browser: the API's answer (403 with the missing steps) stands
    client_id = request.query_params.get("client_id", "")[:64]
    response = redirect(request, f"/services/{quote(client_id, safe='')}")
    response.set_cookie(
        AUTHORIZE_COOKIE,
        here(request)[:NEXT_PATH_LENGTH_MAX],
        max_age=AUTHORIZE_COOKIE_MAX_AGE_S,
        path="/",
        secure=settings_of(request).cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


# --- screens 6-7: the apps ----------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def catalog(request: Request, database: DatabaseDep, platform: PlatformDep) -> HTMLResponse:
    member = required_member(request)
    with database.reading() as session:
        apps = platform.companies.catalog(session)
        mine = {
            membership.app_id: membership
            for membership in platform.journey.memberships(session, member.member_id)
            if membership.is_active
        }
    return page(request, "pages/services/catalog.html", member=member, apps=apps, mine=mine)


# --- screen 8 and where the member stands -------------------------------------------------------


def unsigned_firms(platform: PlatformDep, session: Any, member_id: int, now: datetime) -> list[str]:
    """The member's firms (those of their virtual accounts) without a platform consent in force."""
    firms = {firm.id: firm.code for firm in platform.firms.firms(session)}
    signed = {
        consent.firm_id
        for consent in platform.journey.consents(session, member_id)
        if consent.kind is ConsentKind.PLATFORM_FIRM and consent.is_valid(now)
    }
    held = {account.firm_id for account in platform.journey.virtual_accounts(session, member_id)}
    return sorted(firms[firm_id] for firm_id in held - signed if firm_id in firms)


@router.get("/{client_id}", response_class=HTMLResponse)
def app_page(
    client_id: str,
    request: Request,
    database: DatabaseDep,
    platform: PlatformDep,
    clock: ClockDep,
    done: str = "",
) -> HTMLResponse:
    member = required_member(request)
    with database.reading() as session:
        app = production_app(platform, session, client_id)
        company = platform.companies.company(session, app.company_id)
        missing = platform.journey.missing_steps(session, member_id=member.member_id, app=app)
        unsigned = unsigned_firms(platform, session, member.member_id, clock.now())
    return page(
        request,
        "pages/services/app.html",
        member=member,
        app=app,
        company=company,
        steps=step_views(missing, unsigned),
        complete=not missing,
        authorization=waiting_authorization(request, client_id),
        done=done,
        form=Form(),
    )


@router.post("/{client_id}/apply")
def apply(
    client_id: str, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    del form  # CSRF checked
    member = required_member(request)
    with database.transaction() as session:
        app = production_app(platform, session, client_id)
        platform.journey.apply(session, member_id=member.member_id, app=app)
    return redirect(request, f"/services/{client_id}?done=apply")


@router.get("/{client_id}/authorize")
def resume_authorization(client_id: str, request: Request) -> Response:
    """Back to the app: the authorization request again, now that the journey is complete."""
    url = waiting_authorization(request, client_id) or f"/services/{client_id}"
    response = redirect(request, url)
    response.delete_cookie(AUTHORIZE_COOKIE, path="/")
    return response


# --- screen 11: the accounts the app may see ----------------------------------------------------


def _links_page(
    request: Request,
    member: CurrentMember,
    database: DatabaseDep,
    platform: PlatformDep,
    client_id: str,
    *,
    form: Form | None = None,
    status: int = 200,
) -> HTMLResponse:
    with database.reading() as session:
        app = production_app(platform, session, client_id)
        membership = platform.journey.membership(session, member_id=member.member_id, app_id=app.id)
        accounts = platform.journey.virtual_accounts(session, member.member_id)
        linked = {
            item.virtual_account.number for item in platform.journey.linked_accounts(session, membership, app)
        }
    if form is not None:
        linked = {
            number for number in (account.number for account in accounts) if form.checked(f"account_{number}")
        }
    return page(
        request,
        "pages/services/links.html",
        status=status,
        member=member,
        app=app,
        accounts=accounts,
        linked=linked,
        form=form or Form(),
    )


@router.get("/{client_id}/accounts", response_class=HTMLResponse)
def links(client_id: str, request: Request, database: DatabaseDep, platform: PlatformDep) -> HTMLResponse:
    return _links_page(request, required_member(request), database, platform, client_id)


@router.post("/{client_id}/accounts", response_class=HTMLResponse)
def set_links(
    client_id: str, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    member = required_member(request)
    numbers = [name.removeprefix("account_") for name in form.values if name.startswith("account_")]
    if not numbers:
        form.add("accounts", "services.links.choose_one")
    else:
        try:
            with database.transaction() as session:
                app = production_app(platform, session, client_id)
                platform.journey.set_links(session, member_id=member.member_id, app=app, numbers=numbers)
        except BackboneError as error:
            form.refused(error, field_name="accounts")
    if not form.valid:
        return _links_page(request, member, database, platform, client_id, form=form, status=422)
    return redirect(request, f"/services/{client_id}?done=link_accounts")


# --- screen 12: the fintech↔firm consent --------------------------------------------------------


@router.get("/{client_id}/consent", response_class=HTMLResponse)
def consent_methods(
    client_id: str, request: Request, database: DatabaseDep, platform: PlatformDep
) -> HTMLResponse:
    member = required_member(request)
    with database.reading() as session:
        app = production_app(platform, session, client_id)
        company = platform.companies.company(session, app.company_id)
    return page(
        request,
        "pages/services/consent.html",
        member=member,
        app=app,
        company=company,
        started=None,
        form=Form(),
    )


@router.post("/{client_id}/consent", response_class=HTMLResponse)
def start_consent(
    client_id: str,
    request: Request,
    form: PostedForm,
    database: DatabaseDep,
    platform: PlatformDep,
    identity: IdentityDep,
) -> Response:
    member = required_member(request)
    method = form.check("method", ConsentMethod, "services.consent.choose_method")
    started: StartedConsent | None = None
    with database.reading() as session:
        app = production_app(platform, session, client_id)
        company = platform.companies.company(session, app.company_id)
    if form.valid:
        try:
            with database.transaction() as session:
                details = identity.members.member(session, member.member_id)
                started = platform.journey.start_fintech_consent(
                    session, member=details, session_id=member.session_id, app=app, method=method
                )
        except BackboneError as error:
            form.refused(error, field_name=FORM)
    # The ARS digits exist only in this answer: the page is rendered here, not after a redirect.
    return page(
        request,
        "pages/services/consent.html",
        status=200 if form.valid else 422,
        member=member,
        app=app,
        company=company,
        started=started,
        form=form,
        poll_s=ARS_POLL_S,
    )


@router.get("/{client_id}/consent/{request_id}/ars/{call_id}", response_class=HTMLResponse)
def consent_call(
    client_id: str,
    request_id: int,
    call_id: int,
    request: Request,
    database: DatabaseDep,
    identity: IdentityDep,
) -> HTMLResponse:
    member = required_member(request)
    with database.reading() as session:
        call = identity.ars.status(session, call_id, member_id=member.member_id)
    return fragment(
        request,
        "components/consent_ars_status.html",
        call=call,
        client_id=client_id,
        request_id=request_id,
        poll_s=ARS_POLL_S,
        csrf_token=form_token(request),
    )


@router.post("/{client_id}/consent/{request_id}/complete", response_class=HTMLResponse)
def complete_consent(
    client_id: str,
    request_id: int,
    request: Request,
    form: PostedForm,
    database: DatabaseDep,
    platform: PlatformDep,
) -> Response:
    """The ARS way: the call was confirmed on the phone; the consents are made now."""
    del form  # CSRF checked
    member = required_member(request)
    counting(
        database,
        lambda session: platform.journey.complete_consent(
            session, member_id=member.member_id, request_id=request_id, signed_data=None
        ),
    )
    return redirect(request, f"/services/{client_id}?done=fintech_consent")


def next_or(request: Request, default: str) -> str:
    return safe_next(request.query_params.get("next"), default)
