"""People and the journeys they walk through the portal in a real browser, for tests that need a
member as a starting point, and for `make screenshots`."""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass

import httpx
from playwright.sync_api import Page, expect

from backbone.demo.seed import DEFAULT_SEED, demo_people
from backbone.open_platform.companies.domain import check_business_number
from backbone.open_platform.errors import InvalidCompany
from tests.conftest import OPERATOR_TOKEN
from tests.e2e.web.harness import Portal

# Unique phones per run: a random block of numbers, counted up, so people never collide on the
# shared server (one member per phone, one per personal identifier).
_PHONE_SUFFIXES = itertools.count(secrets.randbelow(80_000_000) + 10_000_000)


@dataclass(frozen=True)
class Person:
    name: str
    birth_date: str  # as typed: eight digits
    phone: str  # as typed: 010-1234-5678
    email: str
    pin: str


def new_person(name: str = "김민준") -> Person:
    digits = f"{next(_PHONE_SUFFIXES):08d}"
    return Person(
        name=name,
        birth_date="19900517",
        phone=f"010-{digits[:4]}-{digits[4:]}",
        email=f"member{digits}@example.com",
        pin="739146",
    )


def sign_up(page: Page, portal: Portal, person: Person) -> None:
    """Seed 002, screens 2–5, as a person clicks through them; ends on the completion screen."""
    page.goto("/signup")
    expect(page).to_have_url(f"{portal.url}/signup/terms")
    page.get_by_label("전체 동의").check()
    page.get_by_role("button", name="동의하고 다음").click()
    expect(page).to_have_url(f"{portal.url}/signup/identity")
    page.get_by_role("textbox", name="이름").fill(person.name)
    page.get_by_role("textbox", name="생년월일").fill(person.birth_date)
    page.get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page).to_have_url(f"{portal.url}/signup/code")
    page.get_by_role("textbox", name="인증번호").fill(portal.latest_sms_code(person.phone))
    page.get_by_role("button", name="확인").click()
    expect(page).to_have_url(f"{portal.url}/signup/details")
    page.get_by_role("textbox", name="이메일").fill(person.email)
    page.get_by_label("간편비밀번호 (PIN)").fill(person.pin)
    page.get_by_label("간편비밀번호 확인").fill(person.pin)
    page.get_by_role("button", name="가입하기").click()
    expect(page).to_have_url(f"{portal.url}/signup/complete")


def log_out(page: Page) -> None:
    page.get_by_role("button", name="로그아웃").click()
    expect(page.get_by_role("banner").get_by_role("link", name="로그인")).to_be_visible()


def log_in_with_pin(page: Page, person: Person) -> None:
    page.goto("/login")
    form = page.locator("form[action='/login']")
    form.get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    form.get_by_label("간편비밀번호 (PIN)").fill(person.pin)
    form.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("heading", name="마이페이지", level=1)).to_be_visible()


# --- the open platform's journey (seed 002, screens 6-12) ---------------------------------------

# The seeded demo people have accounts at one to three demo firms; each is used once per run.
_DEMO_PEOPLE = iter(demo_people(DEFAULT_SEED))
REDIRECT_URI = "http://localhost:9000/callback"
ROUNDS_MAX = (
    8  # a person has at most a few accounts at three firms  # the app's own server: answered by a page route
)


def demo_person() -> Person:
    """A person the seeded firms know (their accounts exist), not yet a member of the portal."""
    person = next(_DEMO_PEOPLE)
    return Person(
        name=person.name,
        birth_date=person.birth_date.strftime("%Y%m%d"),
        phone=person.phone,
        email=person.email,
        pin="739146",
    )


def fresh_business_number() -> str:
    """A business registration number with a valid check digit, new to this run."""
    while True:
        stem = f"{secrets.randbelow(10**9):09d}"
        for last in "0123456789":
            try:
                return check_business_number(stem + last)
            except InvalidCompany:
                continue


def register_certificate(page: Page, portal: Portal, phone: str) -> None:
    """인증서 등록: SMS re-verification (unless the sign-up's is still fresh), then the key and
    certificate made and kept in the browser."""
    page.goto("/my/certificates/new")
    if page.get_by_role("button", name="인증번호 받기").count():
        page.get_by_role("button", name="인증번호 받기").click()
        page.get_by_role("textbox", name="인증번호").fill(portal.latest_sms_code(phone))
        page.get_by_role("button", name="확인").click()
    page.get_by_role("button", name="키 생성 및 발급").click()
    expect(page).to_have_url(f"{portal.url}/my#certificates", timeout=30_000)


def step_up_with_certificate(page: Page) -> None:
    """추가 인증 by certificate signature: a new device links accounts only after one."""
    page.goto("/my/security")
    page.locator("[data-sign-document]").get_by_role("button", name="인증서로 서명").click()
    expect(page.get_by_text("전자서명이 확인되었습니다.")).to_be_visible(timeout=30_000)


def issue_every_listed_account(page: Page, next_path: str) -> int:
    """가상계좌 발급 for every account the firms list for this person; returns how many."""
    for issued in range(ROUNDS_MAX):
        page.goto(f"/virtual-accounts?next={next_path}")
        buttons = page.locator("#issue").get_by_role("button", name=re.compile(r"의 가상계좌 발급$"))
        if buttons.count() == 0:
            return issued
        buttons.first.click()
        expect(page).to_have_url(re.compile(re.escape(next_path) + r"(\?.*)?$"))
        page.wait_for_load_state()
    raise AssertionError(page.locator("main").inner_text())


def sign_platform_consents(page: Page, app_path: str) -> int:
    """Screen 10 for each firm the app's page still asks for; returns how many were signed."""
    page.goto(app_path)
    for signed in range(ROUNDS_MAX):
        buttons = page.get_by_role("link", name=re.compile(r"동의서 서명$"))
        if buttons.count() == 0:
            return signed
        buttons.first.click()
        page.get_by_role("button", name="인증서로 서명하고 동의").click()
        expect(page).to_have_url(re.compile(re.escape(app_path) + "$"), timeout=30_000)
        expect(page.locator("[data-journey]")).to_be_visible()
    raise AssertionError(page.locator("main").inner_text())


def link_every_account(page: Page, client_id: str) -> None:
    """Screen 11: every virtual account may be read by the app."""
    page.goto(f"/services/{client_id}/accounts")
    for box in page.locator("input[type=checkbox][name^=account_]").all():
        box.check()
    page.get_by_role("button", name="저장").click()
    expect(page.get_by_text("연결할 계좌를 저장했습니다.")).to_be_visible()


def consent_by_certificate(page: Page, client_id: str) -> None:
    page.goto(f"/services/{client_id}/consent")
    page.get_by_label("인증서 전자서명").check()
    page.get_by_role("button", name="다음").click()
    page.get_by_role("button", name="인증서로 서명하고 동의").click()
    expect(page.get_by_text("금융거래정보 제3자 제공에 동의했습니다.")).to_be_visible(timeout=30_000)


def consent_by_ars(page: Page, portal: Portal, client_id: str, phone: str) -> None:
    """Screen 12 by ARS: the two digits read on screen, the call found in the outbox, keyed in on
    the (development) phone; the page notices and the member completes the consent."""
    page.goto(f"/services/{client_id}/consent")
    page.get_by_label("ARS 인증 (등록된 휴대폰으로 전화)").check()
    page.get_by_role("button", name="다음").click()
    digits = page.locator("[data-ars-digits]").get_attribute("data-ars-digits")
    assert digits is not None
    assert len(digits) == 2
    calls = portal.outbox(to=phone.replace("-", ""), channel="ars")
    assert calls, "no ARS call in the outbox"
    call_id = int(calls[-1]["reference"].removeprefix("ars:"))
    portal.key_in(call_id, digits)
    page.get_by_role("button", name="동의 완료").click(timeout=20_000)
    expect(page.get_by_text("금융거래정보 제3자 제공에 동의했습니다.")).to_be_visible()


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str


def approved_app(portal: Portal, name: str = "자산로그") -> RegisteredApp:
    """A fintech company and its app, approved for production, through the business and operator
    APIs (the business portal's own pages are tested in test_business_portal)."""
    business = "/api/v1/business"
    with httpx.Client(base_url=portal.url, timeout=30) as client:
        company = client.post(
            f"{business}/companies",
            json={
                "name": f"{name} 주식회사",
                "business_number": fresh_business_number(),
                "email": "dev@example.com",
            },
        )
        assert company.status_code == 201, company.text
        key = {"Authorization": f"Bearer {company.json()['api_key']}"}
        registered = client.post(
            f"{business}/apps",
            json={
                "name": name,
                "description": "자산관리 앱",
                "redirect_uris": [REDIRECT_URI],
                "scopes": ["account.read", "watchlist.read", "market.read"],
            },
            headers=key,
        )
        assert registered.status_code == 201, registered.text
        client_id = registered.json()["app"]["client_id"]
        assert client.post(f"{business}/apps/{client_id}/production", headers=key).status_code == 200
        approved = client.post(
            f"/api/backoffice/v1/platform/apps/{client_id}/approve",
            json={"daily_quota": 100_000, "burst_limit_per_second": 1_000},
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        )
        assert approved.status_code == 200, approved.text
    return RegisteredApp(client_id, registered.json()["client_secret"])
