"""Logging in by PIN and by passkey (Chromium's virtual authenticator through CDP), logging out,
and the ARS step-up: the page shows two digits, the development phone keys them in, htmx sees the
call confirmed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect

from tests.e2e.web.harness import Portal
from tests.e2e.web.journeys import Person, log_in_with_pin, log_out, new_person, sign_up


@dataclass(frozen=True)
class Authenticator:
    session: CDPSession
    id: str

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.session.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        credentials: list[dict[str, Any]] = answer["credentials"]
        return credentials


@pytest.fixture
def authenticator(browser_context: BrowserContext, page: Page) -> Iterator[Authenticator]:
    """A platform authenticator with user verification, as a phone or laptop has, for this page."""
    session = browser_context.new_cdp_session(page)
    session.send("WebAuthn.enable", {"enableUI": False})
    created = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield Authenticator(session=session, id=str(created["authenticatorId"]))
    session.detach()


def member(page: Page, portal: Portal) -> Person:
    person = new_person(name="최유나")
    sign_up(page, portal, person)
    log_out(page)
    return person


def test_pin_login_refuses_a_wrong_pin_with_attempts_left_then_logs_in_and_out(
    page: Page, portal: Portal
) -> None:
    person = member(page, portal)
    page.goto("/my")
    expect(page).to_have_url(f"{portal.url}/login?next=/my")

    form = page.locator("form[action='/login']")
    form.get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    form.get_by_label("간편비밀번호 (PIN)").fill("258147")
    form.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("alert")).to_contain_text("남은 입력 횟수: 4회")
    expect(form.get_by_role("textbox", name="휴대폰 번호")).to_have_value(person.phone)
    expect(form.get_by_label("간편비밀번호 (PIN)")).to_have_value("")  # a PIN is never sent back

    form.get_by_label("간편비밀번호 (PIN)").fill(person.pin)
    form.get_by_role("button", name="로그인").click()
    expect(page).to_have_url(f"{portal.url}/my")
    expect(page.get_by_text(person.email)).to_be_visible()
    expect(page.locator("#devices").get_by_text("현재 기기")).to_be_visible()

    log_out(page)
    page.goto("/my")
    expect(page).to_have_url(f"{portal.url}/login?next=/my")


def test_passkey_registered_on_my_page_logs_the_member_in_without_a_pin(
    page: Page, portal: Portal, authenticator: Authenticator
) -> None:
    person = member(page, portal)
    log_in_with_pin(page, person)  # a fresh PIN proof allows managing security
    page.get_by_role("button", name="이 기기를 패스키로 등록").click()
    expect(page.locator("#passkeys").get_by_text("이 브라우저의 패스키")).to_be_visible()
    credentials = authenticator.credentials()
    assert len(credentials) == 1
    assert credentials[0]["rpId"] == "localhost"
    log_out(page)

    page.goto("/login")
    page.locator("form[action='/login']").get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    page.get_by_role("button", name="패스키로 로그인").click()
    expect(page).to_have_url(f"{portal.url}/my")
    page.goto("/my/security")
    expect(page.locator("[data-proofs] [data-factor='passkey']")).to_be_visible()


def test_ars_step_up_shows_two_digits_and_confirms_when_the_phone_keys_them_in(
    page: Page, portal: Portal
) -> None:
    person = member(page, portal)
    log_in_with_pin(page, person)
    page.goto("/my/security")
    expect(page.locator("tr[data-operation='sign_consent']").get_by_text("추가 인증 필요")).to_be_visible()
    page.get_by_role("button", name="ARS 전화 받기").click()

    digits = page.locator("[data-ars-digits]").get_attribute("data-ars-digits")
    assert digits is not None
    assert len(digits) == 2
    assert digits.isdigit()
    expect(page.get_by_text("숫자 입력을 기다리고 있습니다")).to_be_visible()
    calls = portal.outbox(to=person.phone, channel="ars")
    call_id = int(calls[-1]["reference"].removeprefix("ars:"))
    assert digits not in calls[-1]["body"]  # the call never says the digits: the screen does
    portal.key_in(call_id, digits)

    expect(page.get_by_text("ARS 인증이 완료되었습니다.")).to_be_visible(timeout=15_000)
    page.get_by_role("link", name="추가 인증으로 돌아가기").click()
    expect(page.locator("[data-proofs] [data-factor='ars']")).to_be_visible()
    expect(page.locator("tr[data-operation='sign_consent']").get_by_text("가능")).to_be_visible()


def test_the_secure_session_cookie_is_kept_over_plain_http_at_127_0_0_1_as_make_run_serves_it(
    chromium: Browser, portal: Portal
) -> None:
    loopback = portal.url.replace("localhost", "127.0.0.1")
    context = chromium.new_context(base_url=loopback)
    try:
        page = context.new_page()
        person = member(page, portal_at(portal, loopback))
        log_in_with_pin(page, person)
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert cookies["backbone_session"]["secure"] is True
        assert cookies["backbone_session"]["httpOnly"] is True
        page.goto("/my/security")
        expect(page.get_by_role("heading", name="추가 인증", level=1)).to_be_visible()
    finally:
        context.close()


def portal_at(portal: Portal, url: str) -> Portal:
    return Portal(url=url, environment=portal.environment, directory=portal.directory)
