"""The business portal (Koscom's biz portal): a fintech company signs up, registers apps (redirect
URIs, scopes), gets credentials (each secret shown once; the open platform keeps its hash), asks
for production access, reads the open API's reference and sees each app's usage and quota.

The rules are the open platform's own (`companies.domain.check_*`, `Companies`): the handlers
check each field with them so the error lands beside it, then call the service, whose refusal is
placed on a field too. A company logs in with its API key; see `web.business_session`.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backbone.errors import BackboneError
from backbone.open_platform.companies.domain import (
    ClientAuthMethod,
    Company,
    check_business_number,
    check_company_name,
    check_email,
    check_redirect_uri,
)
from backbone.open_platform.errors import CompanyKeyRejected
from backbone.open_platform.scopes import Scope
from backbone.web.business_session import close_session, open_session, session_subject
from backbone.web.errors import LoginRequired, here
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import DatabaseDep, PlatformDep, PostedForm
from backbone.web.rendering import page, redirect
from backbone.web.security import PAGE_HEADERS

router = APIRouter(prefix="/business")

APP_NAME_LENGTH_MAX = 80
DESCRIPTION_LENGTH_MAX = 400
REDIRECT_URIS_MAX = 5
OPEN_API_DOCUMENT = "/open/v1/openapi.json"
# Where a refusal of the service goes, by problem code.
COMPANY_FIELDS = {
    "platform.company_exists": "business_number",
    "platform.invalid_company": FORM,
    "platform.company_key_rejected": "api_key",
}
APP_FIELDS = {"platform.invalid_app": "redirect_uris", "platform.limit_exceeded": FORM}
# Swagger UI sets style attributes from its scripts: this one page allows them, nothing else.
DOCS_HEADERS = PAGE_HEADERS | {
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
}
SPLIT_LINES = re.compile(r"[\r\n]+")


def current_company(request: Request, database: DatabaseDep, platform: PlatformDep) -> Company:
    subject = session_subject(request, "company")
    if subject is None or not subject.isdigit():
        raise LoginRequired(here(request), "/business/login")
    with database.reading() as session:
        return platform.companies.company(session, int(subject))


def _login_needed(request: Request) -> None:
    if session_subject(request, "company") is None:
        raise LoginRequired(here(request), "/business/login")


# --- sign-up and login --------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def home(request: Request, database: DatabaseDep, platform: PlatformDep) -> Response:
    if session_subject(request, "company") is None:
        return page(request, "pages/business/landing.html")
    company = current_company(request, database, platform)
    with database.reading() as session:
        apps = platform.companies.apps_of_company(session, company)
    usage = {app.id: platform.limits.used_today(app.id) for app in apps}
    return page(request, "pages/business/index.html", company=company, apps=apps, usage=usage)


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request) -> HTMLResponse:
    return page(request, "pages/business/signup.html", form=Form())


@router.post("/signup", response_class=HTMLResponse)
def signup(request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep) -> Response:
    form.required(("name", "business_number", "email"))
    form.check("name", check_company_name, "business.validation.name")
    form.check("business_number", check_business_number, "business.validation.business_number")
    form.check("email", check_email, "validation.email")
    if form.valid:
        try:
            with database.transaction() as session:
                company, api_key = platform.companies.register_company(
                    session,
                    name=form.values["name"],
                    business_number=form.values["business_number"],
                    email=form.values["email"],
                )
        except BackboneError as error:
            form.refused(error, field_name=COMPANY_FIELDS.get(error.code, FORM))
    if not form.valid:
        return page(request, "pages/business/signup.html", status=422, form=form)
    # The key exists only in this answer (the platform keeps its hash): shown here, once.
    response = page(request, "pages/business/key.html", company=company, api_key=api_key)
    open_session(request, response, role="company", subject=str(company.id))
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return page(request, "pages/business/login.html", form=Form())


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep) -> Response:
    form.required(("api_key",))
    company = None
    if form.valid:
        try:
            with database.reading() as session:
                company = platform.companies.company_by_key(session, form.values["api_key"])
        except CompanyKeyRejected as error:
            form.refused(error, field_name="api_key")
    if company is None:
        return page(request, "pages/business/login.html", status=422, form=form)
    response = redirect(request, "/business")
    open_session(request, response, role="company", subject=str(company.id))
    return response


@router.post("/logout")
def logout(request: Request, form: PostedForm) -> Response:
    del form  # CSRF checked
    response = redirect(request, "/business")
    close_session(response, "company")
    return response


# --- apps ---------------------------------------------------------------------------------------


def _app_form_page(request: Request, form: Form, status: int = 200) -> HTMLResponse:
    return page(request, "pages/business/app_new.html", status=status, form=form, scopes=list(Scope))


@router.get("/apps/new", response_class=HTMLResponse)
def new_app_form(request: Request) -> HTMLResponse:
    _login_needed(request)
    return _app_form_page(request, Form(values={"redirect_uris": ""}))


def _check_app_form(form: Form) -> tuple[list[str], frozenset[Scope]]:
    form.required(("name", "redirect_uris"))
    name = " ".join(form.values.get("name", "").split())
    if len(name) > APP_NAME_LENGTH_MAX:
        form.add("name", "business.validation.app_name", limit=APP_NAME_LENGTH_MAX)
    if len(form.values.get("description", "")) > DESCRIPTION_LENGTH_MAX:
        form.add("description", "business.validation.description", limit=DESCRIPTION_LENGTH_MAX)
    uris = [line.strip() for line in SPLIT_LINES.split(form.values.get("redirect_uris", "")) if line.strip()]
    if len(uris) > REDIRECT_URIS_MAX or len(set(uris)) != len(uris):
        form.add("redirect_uris", "business.validation.redirect_count", limit=REDIRECT_URIS_MAX)
    for uri in uris:
        try:
            check_redirect_uri(uri)
        except BackboneError:
            form.add("redirect_uris", "business.validation.redirect_uri", uri=uri[:80])
    scopes = frozenset(scope for scope in Scope if form.checked(f"scope_{scope.value}"))
    if not scopes:
        form.add("scopes", "business.validation.scopes")
    return uris, scopes


@router.post("/apps", response_class=HTMLResponse)
def register_app(
    request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    company = current_company(request, database, platform)
    uris, scopes = _check_app_form(form)
    if form.valid:
        try:
            with database.transaction() as session:
                app, secret = platform.companies.register_app(
                    session,
                    company=company,
                    name=form.values["name"],
                    description=form.values.get("description", ""),
                    redirect_uris=uris,
                    scopes=scopes,
                    auth_method=ClientAuthMethod.CLIENT_SECRET_BASIC,
                    jwks=None,
                )
        except BackboneError as error:
            form.refused(error, field_name=APP_FIELDS.get(error.code, FORM))
    if not form.valid:
        return _app_form_page(request, form, status=422)
    # The secret exists only in this answer: the app's page shows it this once.
    return _app_page(request, database, platform, company, app.client_id, secret=secret)


def _app_page(
    request: Request,
    database: DatabaseDep,
    platform: PlatformDep,
    company: Company,
    client_id: str,
    *,
    secret: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with database.reading() as session:
        app = platform.companies.app_of_company(session, company, client_id)
    return page(
        request,
        "pages/business/app.html",
        status=status,
        company=company,
        app=app,
        secret=secret,
        used=platform.limits.used_today(app.id),
        issuer=platform.oauth.metadata()["issuer"],
    )


@router.get("/apps/{client_id}", response_class=HTMLResponse)
def app_page(client_id: str, request: Request, database: DatabaseDep, platform: PlatformDep) -> HTMLResponse:
    company = current_company(request, database, platform)
    return _app_page(request, database, platform, company, client_id)


@router.post("/apps/{client_id}/secret", response_class=HTMLResponse)
def rotate_secret(
    client_id: str, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> HTMLResponse:
    del form  # CSRF checked
    company = current_company(request, database, platform)
    with database.transaction() as session:
        app = platform.companies.app_of_company(session, company, client_id)
        secret = platform.companies.rotate_secret(session, app)
    return _app_page(request, database, platform, company, client_id, secret=secret)


@router.post("/apps/{client_id}/production")
def request_production(
    client_id: str, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    del form  # CSRF checked
    company = current_company(request, database, platform)
    with database.transaction() as session:
        app = platform.companies.app_of_company(session, company, client_id)
        platform.companies.request_production(session, app)
    return redirect(request, f"/business/apps/{client_id}")


# --- the open API's reference -------------------------------------------------------------------


@router.get("/docs", response_class=HTMLResponse)
def reference(request: Request) -> HTMLResponse:
    response = page(request, "pages/business/docs.html", document_url=OPEN_API_DOCUMENT)
    response.headers.update(DOCS_HEADERS)
    return response
