"""The English switch, forms that validate on the server and in the page with errors beside their
fields in the page's language and the typed values kept, CSRF on posts, and a keyboard-only walk."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.web.harness import Portal
from tests.e2e.web.journeys import new_person


def start_sign_up(page: Page) -> None:
    page.goto("/signup/terms")
    page.get_by_label("전체 동의").check()
    page.get_by_role("button", name="동의하고 다음").click()


def test_english_switch_translates_every_page_and_is_remembered_until_switched_back(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("흩어진 증권 계좌를 하나의 안전한 플랫폼으로")
    english = page.get_by_role("link", name="English")
    expect(english).to_have_attribute("lang", "en")
    english.click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "All your brokerage accounts, on one safe platform"
    )
    page.get_by_role("banner").get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Accept the portal's terms")).to_be_visible()
    expect(page.get_by_text("[Required] Terms of service of the Investment Fintech Portal")).to_be_visible()
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    assert re.search(r"[가-힣]", page.locator("main").inner_text()) is None, "Korean left on an English page"

    page.get_by_role("link", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="로그인", exact=True)).to_be_visible()


def test_server_rejects_a_too_young_birth_date_beside_its_field_and_keeps_what_was_typed(page: Page) -> None:
    start_sign_up(page)
    person = new_person(name="이서연")
    page.get_by_role("textbox", name="이름").fill(person.name)
    page.get_by_role("textbox", name="생년월일").fill(
        "20200101"
    )  # well-formed: only the server knows the age rule
    page.get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    page.get_by_role("button", name="인증번호 받기").click()

    birth_date = page.get_by_role("textbox", name="생년월일")
    expect(birth_date).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#field-birth_date-error")).to_have_text(
        "생년월일을 확인해 주세요. 만 14세 이상만 가입할 수 있습니다."
    )
    expect(page.get_by_role("alert")).to_contain_text("생년월일을 확인해 주세요.")
    expect(birth_date).to_have_value("20200101")
    expect(page.get_by_role("textbox", name="이름")).to_have_value(person.name)
    expect(page.get_by_role("textbox", name="휴대폰 번호")).to_have_value(person.phone)
    expect(page.get_by_role("textbox", name="이름")).not_to_have_attribute("aria-invalid", "true")


def test_without_scripts_the_server_alone_shows_each_error_in_english_and_keeps_the_values(
    chromium: Browser, portal: Portal
) -> None:
    context = chromium.new_context(base_url=portal.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/language/en?next=/signup/terms")
        page.get_by_role("button", name="Accept and continue").click()  # nothing ticked
        expect(page.locator("#field-term_service-error")).to_have_text("Please accept this required term.")
        expect(page.locator("#field-term_marketing-error")).to_be_hidden()  # optional

        page.get_by_label("Accept all").check()  # without scripts, ticks only itself
        for box in page.locator("input[data-term]").all():
            box.check()
        page.get_by_role("button", name="Accept and continue").click()
        page.get_by_role("textbox", name="Name").fill("Kim")
        page.get_by_role("textbox", name="Date of birth").fill("1990-13-45")
        page.get_by_role("textbox", name="Mobile number").fill("02-123-4567")
        page.get_by_role("button", name="Send the code").click()

        expect(page.locator("#field-birth_date-error")).to_have_text(
            "Enter your date of birth as eight digits, for example 19900517."
        )
        expect(page.locator("#field-phone-error")).to_have_text(
            "Enter a mobile number such as 010-1234-5678."
        )
        expect(page.locator("#field-name-error")).to_be_hidden()
        expect(page.get_by_role("textbox", name="Date of birth")).to_have_value("1990-13-45")
        expect(page.get_by_role("textbox", name="Mobile number")).to_have_value("02-123-4567")
        expect(page.get_by_role("textbox", name="Name")).to_have_value("Kim")
    finally:
        context.close()


def test_page_check_shows_the_error_beside_the_field_before_anything_is_sent(page: Page) -> None:
    start_sign_up(page)
    page.get_by_role("textbox", name="이름").fill("김민준")
    page.get_by_role("textbox", name="휴대폰 번호").fill("1234")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    page.get_by_role("button", name="인증번호 받기").click()

    expect(page.locator("#field-birth_date-error")).to_have_text("필수 입력 항목입니다.")
    expect(page.locator("#field-phone-error")).to_have_text(
        "휴대폰 번호를 010-1234-5678 형식으로 입력해 주세요."
    )
    expect(page.get_by_role("textbox", name="생년월일")).to_be_focused()
    assert sent == []
    page.get_by_role("textbox", name="휴대폰 번호").fill("010-2345-6789")
    expect(page.locator("#field-phone-error")).to_be_hidden()


def test_a_post_without_this_browsers_form_token_is_refused_with_a_readable_page(
    page: Page, portal: Portal
) -> None:
    page.goto("/")
    response = page.request.post(
        "/signup/terms", form={"term_service": "2026-01-01"}, headers={"Origin": portal.url}, max_redirects=0
    )
    assert response.status == 403
    assert "text/html" in response.headers["content-type"]
    assert "입력 화면이 만료되었습니다" in response.text()
    assert "Traceback" not in response.text()


def test_keyboard_alone_accepts_the_terms_and_fills_the_identity_form_with_a_visible_focus(
    page: Page, portal: Portal
) -> None:
    person = new_person(name="박지호")
    page.goto("/signup/terms")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="본문 바로가기")
    expect(skip).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")  # skip the header: the next Tab lands in the page's content

    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "agree-all":
            break
    expect(page.get_by_label("전체 동의")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert outline not in ("0px", ""), outline
    page.keyboard.press("Space")
    expect(page.locator("input[data-term]:not(:checked)")).to_have_count(0)

    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    expect(page.get_by_role("button", name="동의하고 다음")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{portal.url}/signup/identity")

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip link again
    page.keyboard.press("Tab")
    expect(page.get_by_role("textbox", name="이름")).to_be_focused()
    page.keyboard.type(person.name)
    page.keyboard.press("Tab")
    expect(page.get_by_role("textbox", name="생년월일")).to_be_focused()
    page.keyboard.type(person.birth_date)
    page.keyboard.press("Tab")
    page.keyboard.type(person.phone)
    page.keyboard.press("Enter")  # submits the form from its last field
    expect(page).to_have_url(f"{portal.url}/signup/code")
    expect(page.get_by_text(person.phone[:4] + "****")).to_be_visible()
