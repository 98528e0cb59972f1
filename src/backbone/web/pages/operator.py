"""The operator's screen: apps waiting for production access (approve or reject, with the limits
granted), and the platform's health (the database's readiness, each firm's adapter and circuit
breaker, counts of companies and apps). The operator logs in with the back-office operator token;
see `web.business_session`."""

from __future__ import annotations

import hmac
from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backbone import schema
from backbone.dependencies import service
from backbone.errors import BackboneError
from backbone.open_platform.adapters.resilience import ResilientFirm
from backbone.open_platform.companies.domain import DAILY_QUOTA_MAX, PRODUCTION_DAILY_QUOTA, App, AppStatus
from backbone.open_platform.errors import UnknownApp
from backbone.open_platform.firms.domain import PlatformFirm
from backbone.web.business_session import close_session, open_session, session_subject
from backbone.web.errors import LoginRequired, here
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import DatabaseDep, PlatformDep, PostedForm
from backbone.web.rendering import page, redirect

router = APIRouter(prefix="/operator")

OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class FirmHealth:
    firm: PlatformFirm
    breaker: str  # closed | open | half_open, or "in_process" for a firm without one


def _operator_needed(request: Request) -> None:
    if session_subject(request, OPERATOR) != OPERATOR:
        raise LoginRequired(here(request), "/operator/login")


def _readiness(database: DatabaseDep) -> tuple[bool, str]:
    """What /readyz answers: the database reachable and migrated to the code's revision."""
    try:
        database.ping()
        current, head = schema.revisions(database.engine)
    except Exception as error:
        return False, type(error).__name__
    return current == head, current or ""


def _firm_health(platform: PlatformDep, firm: PlatformFirm) -> FirmHealth:
    adapter = platform.firms.adapter(firm)
    if isinstance(adapter, ResilientFirm):
        return FirmHealth(firm, adapter.breaker.state.value)
    return FirmHealth(firm, "in_process")


def _dashboard(
    request: Request,
    database: DatabaseDep,
    platform: PlatformDep,
    *,
    form: Form | None = None,
    status: int = 200,
) -> HTMLResponse:
    with database.reading() as session:
        apps = platform.companies.apps_in_status(session, list(AppStatus))
        firms = platform.firms.firms(session)
    ready, revision = _readiness(database)
    return page(
        request,
        "pages/operator/index.html",
        status=status,
        pending=[app for app in apps if app.status is AppStatus.PENDING_APPROVAL],
        counts=Counter(app.status.value for app in apps),
        companies=len({app.company_id for app in apps}),
        firms=[_firm_health(platform, firm) for firm in firms],
        ready=ready,
        revision=revision,
        quota_default=PRODUCTION_DAILY_QUOTA,
        form=form or Form(),
    )


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, database: DatabaseDep, platform: PlatformDep) -> HTMLResponse:
    _operator_needed(request)
    return _dashboard(request, database, platform)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return page(request, "pages/operator/login.html", form=Form())


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, form: PostedForm) -> Response:
    form.required(("token",))
    expected = str(service(request, "operator_token"))
    typed = form.values.get("token", "")
    if form.valid and not hmac.compare_digest(typed.encode(), expected.encode()):
        form.add("token", "operator.login.wrong")
    if not form.valid:
        return page(request, "pages/operator/login.html", status=422, form=form)
    response = redirect(request, "/operator")
    open_session(request, response, role=OPERATOR, subject=OPERATOR)
    return response


@router.post("/logout")
def logout(request: Request, form: PostedForm) -> Response:
    del form  # CSRF checked
    response = redirect(request, "/operator/login")
    close_session(response, OPERATOR)
    return response


@router.post("/apps/{client_id}/approve", response_class=HTMLResponse)
def approve(
    client_id: str, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    _operator_needed(request)
    quota_text = form.values.get(f"quota_{client_id}", "") or str(PRODUCTION_DAILY_QUOTA)
    if not quota_text.isdigit() or not 1 <= int(quota_text) <= DAILY_QUOTA_MAX:
        form.add(f"quota_{client_id}", "operator.apps.quota_range", limit=f"{DAILY_QUOTA_MAX:,}")
    else:
        try:
            with database.transaction() as session:
                app = _app(platform, session, client_id)
                platform.companies.approve(session, app, daily_quota=int(quota_text))
        except BackboneError as error:
            form.refused(error, field_name=FORM)
    if not form.valid:
        return _dashboard(request, database, platform, form=form, status=422)
    return redirect(request, "/operator?approved=" + client_id)


@router.post("/apps/{client_id}/reject")
def reject(
    client_id: str, request: Request, form: PostedForm, database: DatabaseDep, platform: PlatformDep
) -> Response:
    del form  # CSRF checked
    _operator_needed(request)
    with database.transaction() as session:
        platform.companies.reject(session, _app(platform, session, client_id))
    return redirect(request, "/operator")


def _app(platform: PlatformDep, session: Any, client_id: str) -> App:
    app = platform.companies.app_by_client_id(session, client_id[:64])
    if app is None:
        raise UnknownApp(f"no app {client_id[:64]!r}")
    return app
