"""The investor's open-platform journey in a real browser against a real server (seed 002, screens
6-12, 가상계좌 관리, 동의서 관리, 통합계좌조회): a fintech app sends the browser to the authorization
endpoint; the member signs up (SMS code from the outbox), registers a certificate made in the
browser, is taken through the journey (apply, virtual accounts, the platform consent signed with
the browser-held key, the accounts to connect, the fintech consent by ARS with the call keyed in
from the outbox) and back to the app with a code. The app exchanges it with its PKCE verifier
over plain HTTP and reads the accounts; the portal's integrated inquiry shows the same accounts.
Then a consent revoked in the portal makes the app's next call fail."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from playwright.sync_api import Page, Route, expect

from tests.e2e.web.harness import Portal
from tests.e2e.web.journeys import (
    REDIRECT_URI,
    Person,
    RegisteredApp,
    approved_app,
    consent_by_ars,
    consent_by_certificate,
    demo_person,
    issue_every_listed_account,
    link_every_account,
    log_out,
    register_certificate,
    sign_platform_consents,
    sign_up,
    step_up_with_certificate,
)


@dataclass
class Authorization:
    verifier: str
    state: str
    url: str


def authorization_request(portal: Portal, client_id: str) -> Authorization:
    """What the app does: a PKCE pair, a state, and the browser sent to the authorization endpoint."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "account.read watchlist.read",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return Authorization(verifier, state, f"{portal.url}/oauth/authorize?{query}")


def catch_redirects(page: Page) -> list[str]:
    """The app's redirect URI, answered in the browser: the URLs it was called with."""
    arrived: list[str] = []

    def answer(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>app</title>")

    page.route(f"{REDIRECT_URI}**", answer)
    return arrived


def exchange(
    portal: Portal, app: RegisteredApp, location: str, authorization: Authorization
) -> dict[str, Any]:
    """The app's server: the code and its PKCE verifier for tokens, over plain HTTP."""
    answered = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert answered["state"] == authorization.state
    assert answered["iss"] == portal.url
    response = httpx.post(
        f"{portal.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": answered["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": authorization.verifier,
        },
        auth=(app.client_id, app.client_secret),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def open_api(portal: Portal, access_token: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{portal.url}/open/v1{path}", headers={"Authorization": f"Bearer {access_token}"}, timeout=30
    )


def walk_to_the_app(
    page: Page, portal: Portal, person: Person, app: RegisteredApp, *, by_ars: bool
) -> tuple[str, Authorization]:
    """From the app's authorization request through sign-up and the journey back to the app;
    returns the URL the app's redirect URI was called with, and the app's request."""
    arrived = catch_redirects(page)
    request = authorization_request(portal, app.client_id)
    page.goto(request.url)
    expect(page).to_have_url(re.compile(r"/login\?next=/oauth/authorize"))
    sign_up(page, portal, person)
    register_certificate(page, portal, person.phone)

    app_path = f"/services/{app.client_id}"
    page.goto(request.url)  # the app asks again: now logged in, the journey is not done
    expect(page).to_have_url(f"{portal.url}{app_path}")
    expect(page.get_by_text("자산로그이(가) 계좌 조회 권한을 요청했습니다.", exact=False)).to_be_visible()
    expect(page.locator("[data-step=apply]")).to_have_attribute("data-state", "current")
    page.get_by_role("button", name="앱 사용 신청").click()
    expect(page.locator("[data-step=apply]")).to_have_attribute("data-state", "done")
    expect(page.locator("[data-step=virtual_account]")).to_have_attribute("data-state", "current")

    page.goto(f"/virtual-accounts?next={app_path}")
    expect(page.locator("[data-step-up-needed]")).to_be_visible()  # a new device: certificate or ARS
    step_up_with_certificate(page)
    assert issue_every_listed_account(page, app_path) >= 1
    assert sign_platform_consents(page, app_path) >= 1
    expect(page.locator("[data-step=link_accounts]")).to_have_attribute("data-state", "current")
    link_every_account(page, app.client_id)
    expect(page.locator("[data-step=fintech_consent]")).to_have_attribute("data-state", "current")
    if by_ars:
        consent_by_ars(page, portal, app.client_id, person.phone)
    else:
        consent_by_certificate(page, app.client_id)
    expect(page.locator("[data-journey-complete]")).to_be_visible()

    page.get_by_role("link", name="자산로그(으)로 돌아가기").click()
    expect(page).to_have_url(re.compile("^" + re.escape(REDIRECT_URI)))
    assert len(arrived) == 1
    return arrived[0], request


def test_the_whole_journey_from_the_apps_request_to_the_integrated_inquiry(
    page: Page, portal: Portal
) -> None:
    person = demo_person()
    app = approved_app(portal)
    location, request = walk_to_the_app(page, portal, person, app, by_ars=True)
    tokens = exchange(portal, app, location, request)

    accounts = open_api(portal, tokens["access_token"], "/accounts")
    assert accounts.status_code == 200, accounts.text
    numbers = {account["virtual_account_number"] for account in accounts.json()}
    assert numbers

    page.goto("/virtual-accounts")
    shown = set(
        page.locator("[data-virtual-accounts] tr[data-number]").evaluate_all(
            "rows => rows.map((row) => row.dataset.number)"
        )
    )
    assert shown == numbers

    page.goto("/consents")
    kinds = page.locator("[data-consents] tr[data-status=active]").evaluate_all(
        "rows => rows.map((row) => row.dataset.kind)"
    )
    assert "platform_firm" in kinds
    assert "fintech_firm" in kinds
    expect(page.get_by_text("ARS").first).to_be_visible()

    page.get_by_role("link", name="통합계좌조회").first.click()
    expect(page.get_by_role("heading", name="통합계좌조회", level=1)).to_be_visible()
    for number in numbers:
        section = page.locator(f"[data-inquiry-account='{number}']")
        expect(section).to_have_attribute("data-status", "ok")
    portfolio = open_api(portal, tokens["access_token"], "/portfolio")
    assert portfolio.status_code == 200, portfolio.text
    expect(page.locator("[data-portfolio-chart] circle[data-slice]").first).to_be_attached()
    expect(page.locator("[data-total=cash]")).to_have_text(f"{portfolio.json()['cash_second_day_won']:,}원")
    expect(page.locator("[data-total=valuation]")).to_have_text(f"{portfolio.json()['valuation_won']:,}원")
    expect(page.locator("[data-transactions]").first).to_be_visible()

    # Another day: the app asks again; the member logs in and goes straight back with a code.
    log_out(page)
    arrived = catch_redirects(page)
    again = authorization_request(portal, app.client_id)
    page.goto(again.url)
    form = page.locator("form[action='/login']")
    form.get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    form.get_by_label("간편비밀번호 (PIN)").fill(person.pin)
    form.get_by_role("button", name="로그인").click()
    expect(page).to_have_url(re.compile("^" + re.escape(REDIRECT_URI)))
    assert exchange(portal, app, arrived[-1], again)["access_token"]


def test_a_consent_revoked_in_the_portal_makes_the_apps_next_call_fail(page: Page, portal: Portal) -> None:
    person = demo_person()
    app = approved_app(portal)
    location, request = walk_to_the_app(page, portal, person, app, by_ars=False)
    tokens = exchange(portal, app, location, request)
    before = open_api(portal, tokens["access_token"], "/accounts")
    assert before.status_code == 200, before.text
    number = before.json()[0]["virtual_account_number"]
    assert open_api(portal, tokens["access_token"], f"/accounts/{number}/balance").status_code == 200

    page.goto("/consents")
    fintech = page.locator("[data-consents] tr[data-kind=fintech_firm][data-status=active]").first
    fintech.get_by_role("button", name="철회").click()
    expect(page.get_by_text("동의를 철회했습니다.")).to_be_visible()
    expect(
        page.locator("[data-consents] tr[data-kind=fintech_firm][data-status=revoked]").first
    ).to_be_visible()

    after = open_api(portal, tokens["access_token"], f"/accounts/{number}/balance")
    assert after.status_code == 403, after.text
    assert after.json()["code"] == "platform.consent_revoked"

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Consents", level=1)).to_be_visible()
    revoked = page.locator("[data-consents] tr[data-kind=fintech_firm][data-status=revoked]").first
    expect(revoked).to_contain_text("Revoked")
    expect(revoked).to_contain_text("Fintech company and firm")
    page.goto("/inquiry")  # the platform consent stands: the member still reads their own accounts
    expect(page.get_by_role("heading", name="Integrated account inquiry")).to_be_visible()
    expect(page.locator(f"[data-inquiry-account='{number}']")).to_have_attribute("data-status", "ok")
