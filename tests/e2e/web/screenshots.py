"""`make screenshots`: a PNG of each portal screen built so far, in Korean, under docs/screens/.

A fresh portal (its own temporary database) is walked by Debian's Chromium as a new member would:
home, the four sign-up screens, login, certificate registration, my page, step-up and ARS; then
the home page in English and a form refusing a birth date; last, the trading screen on a market
of its own (a simulated clock, open). Run: python -m tests.e2e.web.screenshots DIR
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from tests.e2e.web.harness import Portal, launch_chromium, running_portal
from tests.e2e.web.journeys import Person, log_in_with_pin, log_out
from tests.e2e.web.market import running_market, seed_lively_book

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
        running_portal(Path(scratch)) as portal,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(base_url=portal.url, viewport=VIEWPORT, locale="ko-KR")
            walk(context.new_page(), portal, directory)
            context.close()
            walk_trading(browser, directory)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
