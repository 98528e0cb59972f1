"""`make screenshots`: a PNG of each portal screen built so far, in Korean, under docs/screens/.

A fresh portal (its own temporary database) is walked by Debian's Chromium as a new member would:
home, the four sign-up screens, login, certificate registration, my page, step-up and ARS; then
the home page in English and a form refusing a birth date. Then a demo investor (the portal is
seeded with `backbone demo seed`) walks the open-platform journey of the demo app, and a fintech
company and the operator use the business portal; last, the trading screen on a market of its own
(a simulated clock, open). Run: python -m tests.e2e.web.screenshots DIR
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from backbone.demo.seed import DEFAULT_SEED
from tests.conftest import OPERATOR_TOKEN
from tests.e2e.web.harness import Portal, launch_chromium, running_portal
from tests.e2e.web.journeys import (
    REDIRECT_URI,
    Person,
    demo_person,
    fresh_business_number,
    issue_every_listed_account,
    link_every_account,
    log_in_with_pin,
    log_out,
    register_certificate,
    sign_up,
    step_up_with_certificate,
)
from tests.e2e.web.market import running_market, seed_lively_book

DEMO_APP = f"app_demo{DEFAULT_SEED:016x}"[:28]  # the app `backbone demo seed` approves

VIEWPORT: ViewportSize = {"width": 1280, "height": 860}
TRADING_VIEWPORT: ViewportSize = {"width": 1480, "height": 1000}
PERSON = Person(
    name="김민준", birth_date="19900517", phone="010-1234-5678", email="minjun@example.com", pin="739146"
)


def shoot(page: Page, directory: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"saved {path}")


def walk(page: Page, portal: Portal, directory: Path) -> None:
    page.goto("/")
    shoot(page, directory, "01-home")

    page.goto("/signup/terms")
    page.get_by_label("전체 동의").check()
    shoot(page, directory, "02-signup-terms")
    page.get_by_role("button", name="동의하고 다음").click()
    page.get_by_role("textbox", name="이름").fill(PERSON.name)
    page.get_by_role("textbox", name="생년월일").fill(PERSON.birth_date)
    page.get_by_role("textbox", name="휴대폰 번호").fill(PERSON.phone)
    shoot(page, directory, "03-signup-identity")
    page.get_by_role("button", name="인증번호 받기").click()
    page.get_by_role("textbox", name="인증번호").fill(portal.latest_sms_code(PERSON.phone))
    shoot(page, directory, "04-signup-code")
    page.get_by_role("button", name="확인").click()
    page.get_by_role("textbox", name="이메일").fill(PERSON.email)
    page.get_by_label("간편비밀번호 (PIN)").fill(PERSON.pin)
    page.get_by_label("간편비밀번호 확인").fill(PERSON.pin)
    shoot(page, directory, "05-signup-details")
    page.get_by_role("button", name="가입하기").click()
    expect(page).to_have_url(f"{portal.url}/signup/complete")
    shoot(page, directory, "06-signup-complete")

    log_out(page)
    page.goto("/login")
    shoot(page, directory, "07-login")
    log_in_with_pin(page, PERSON)

    page.goto("/my/certificates/new")
    page.get_by_role("button", name="인증번호 받기").click()
    page.get_by_role("textbox", name="인증번호").fill(portal.latest_sms_code(PERSON.phone))
    shoot(page, directory, "08-certificate-verification")
    page.get_by_role("button", name="확인").click()
    shoot(page, directory, "09-certificate-issue")
    page.get_by_role("button", name="키 생성 및 발급").click()
    expect(page).to_have_url(f"{portal.url}/my#certificates", timeout=30_000)
    expect(page.get_by_text("이 브라우저에 저장됨")).to_be_visible()
    shoot(page, directory, "10-my-page")

    page.goto("/my/security")
    shoot(page, directory, "11-step-up")
    page.locator("[data-sign-document]").get_by_role("button", name="인증서로 서명").click()
    expect(page.get_by_text("전자서명이 확인되었습니다.")).to_be_visible(timeout=30_000)
    shoot(page, directory, "12-step-up-signed")
    page.get_by_role("button", name="ARS 전화 받기").click()
    shoot(page, directory, "13-ars")

    page.goto("/language/en?next=/")
    shoot(page, directory, "14-home-english")
    page.goto("/language/ko?next=/")
    log_out(page)
    page.goto("/signup/terms")
    page.get_by_label("전체 동의").check()
    page.get_by_role("button", name="동의하고 다음").click()
    page.get_by_role("textbox", name="이름").fill("이서연")
    page.get_by_role("textbox", name="생년월일").fill("20200101")
    page.get_by_role("textbox", name="휴대폰 번호").fill("010-2345-6789")
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page.get_by_role("alert")).to_be_visible()
    shoot(page, directory, "15-form-error")


def walk_the_open_platform(page: Page, portal: Portal, directory: Path) -> None:
    person = demo_person()
    sign_up(page, portal, person)
    register_certificate(page, portal, person.phone)
    step_up_with_certificate(page)
    page.goto("/services")
    shoot(page, directory, "16-apps")
    app_path = f"/services/{DEMO_APP}"
    page.goto(app_path)
    page.get_by_role("button", name="앱 사용 신청").click()
    shoot(page, directory, "17-app-journey")
    page.goto(f"/virtual-accounts?next={app_path}")
    shoot(page, directory, "18-virtual-accounts-issue")
    issue_every_listed_account(page, app_path)
    page.goto(app_path)
    page.get_by_role("link", name=re.compile(r"동의서 서명$")).first.click()
    shoot(page, directory, "19-platform-consent")
    page.get_by_role("button", name="인증서로 서명하고 동의").click()
    expect(page).to_have_url(f"{portal.url}{app_path}", timeout=30_000)
    while page.get_by_role("link", name=re.compile(r"동의서 서명$")).count():
        page.get_by_role("link", name=re.compile(r"동의서 서명$")).first.click()
        page.get_by_role("button", name="인증서로 서명하고 동의").click()
        expect(page).to_have_url(f"{portal.url}{app_path}", timeout=30_000)
        expect(page.locator("[data-journey]")).to_be_visible()
    page.goto(f"/services/{DEMO_APP}/accounts")
    for box in page.locator("input[type=checkbox][name^=account_]").all():
        box.check()
    shoot(page, directory, "20-choose-accounts")
    link_every_account(page, DEMO_APP)
    page.goto(f"/services/{DEMO_APP}/consent")
    page.get_by_label("ARS 인증 (등록된 휴대폰으로 전화)").check()
    page.get_by_role("button", name="다음").click()
    shoot(page, directory, "21-fintech-consent-ars")
    digits = page.locator("[data-ars-digits]").get_attribute("data-ars-digits") or ""
    call = portal.outbox(to=person.phone, channel="ars")[-1]["reference"].removeprefix("ars:")
    portal.key_in(int(call), digits)
    page.get_by_role("button", name="동의 완료").click(timeout=20_000)
    shoot(page, directory, "22-app-journey-complete")
    page.goto("/virtual-accounts")
    shoot(page, directory, "23-virtual-accounts")
    page.goto("/consents")
    shoot(page, directory, "24-consents")
    page.goto("/inquiry")
    shoot(page, directory, "25-inquiry")


def walk_the_business_portal(page: Page, directory: Path) -> None:
    page.goto("/business")
    shoot(page, directory, "26-business-home")
    page.goto("/business/signup")
    page.get_by_role("textbox", name="회사명").fill("머니로그 주식회사")
    page.get_by_role("textbox", name="사업자등록번호").fill(fresh_business_number())
    page.get_by_role("textbox", name="담당자 이메일").fill("developers@example.com")
    page.get_by_role("button", name="가입하기").click()
    page.get_by_role("link", name="기업 포털로").click()
    page.goto("/business/apps/new")
    page.get_by_role("textbox", name="앱 이름").fill("머니로그")
    page.get_by_role("textbox", name="앱 설명").fill("흩어진 자산을 한눈에")
    page.get_by_role("textbox", name="리디렉션 URI").fill("ftp://example.com/callback")
    page.get_by_label("계좌 조회").check()
    page.get_by_role("button", name="앱 등록").click()
    shoot(page, directory, "27-business-app-form-error")
    page.get_by_role("textbox", name="리디렉션 URI").fill(REDIRECT_URI)
    page.get_by_role("button", name="앱 등록").click()
    shoot(page, directory, "28-business-app-credentials")
    page.get_by_role("button", name="운영 승인 요청").click()
    page.goto("/business")
    shoot(page, directory, "29-business-dashboard")
    page.goto("/business/docs")
    expect(page.locator(".swagger-ui .opblock-tag").first).to_be_visible(timeout=20_000)
    shoot(page, directory, "30-business-api-reference")
    page.goto("/operator/login")
    page.get_by_label("운영자 토큰").fill(OPERATOR_TOKEN)
    page.get_by_role("button", name="로그인").click()
    shoot(page, directory, "31-operator")


def walk_trading(browser: Browser, directory: Path) -> None:
    """The trading screen on its own market (a simulated clock, open): a morning's tape and a full
    book seeded first, then an investor with a position and an open order looks at it."""
    with tempfile.TemporaryDirectory() as scratch, running_market(Path(scratch)) as market:
        seed_lively_book(market, "005930", base_price=71_500, tick=100)
        investor = market.investor(PERSON.name, cash_won=30_000_000, shares={"005930": 120})
        investor.place("screen-1", instrument="005930", side="buy", price=71_000, quantity=25)
        context = browser.new_context(base_url=market.portal.url, viewport=TRADING_VIEWPORT, locale="ko-KR")
        page = context.new_page()
        log_in_with_pin(page, investor.person)
        page.goto("/trading?instrument=005930")
        expect(page.locator("[data-feed-status]")).to_have_attribute("data-state", "trading_feed_live")
        page.locator("[data-order-ticket]").get_by_label("주문 수량 (주)").fill("10")
        shoot(page, directory, "trading")
        context.close()


def main(arguments: list[str]) -> int:
    directory = Path(arguments[0] if arguments else "docs/screens")
    directory.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_portal(Path(scratch), seeded=True) as portal,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(base_url=portal.url, viewport=VIEWPORT, locale="ko-KR")
            walk(context.new_page(), portal, directory)
            context.close()
            context = browser.new_context(base_url=portal.url, viewport=VIEWPORT, locale="ko-KR")
            walk_the_open_platform(context.new_page(), portal, directory)
            context.close()
            context = browser.new_context(base_url=portal.url, viewport=VIEWPORT, locale="ko-KR")
            walk_the_business_portal(context.new_page(), directory)
            context.close()
            walk_trading(browser, directory)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
