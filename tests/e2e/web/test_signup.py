"""Seed 002's sign-up in a real browser: terms, SMS verification (the code read from the
development outbox), member details, completion and the confirmation e-mail."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.web.harness import Portal
from tests.e2e.web.journeys import log_in_with_pin, log_out, new_person


def test_sign_up_through_terms_sms_code_and_details_ends_logged_in_with_a_welcome_email(
    page: Page, portal: Portal
) -> None:
    person = new_person()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.get_by_role("link", name="회원가입").first.click()

    expect(page.get_by_role("heading", name="금융투자 핀테크포털 이용약관 동의")).to_be_visible()
    page.get_by_label("전체 동의").check()
    assert page.locator("input[data-term]:not(:checked)").count() == 0
    page.get_by_role("button", name="동의하고 다음").click()

    page.get_by_role("textbox", name="이름").fill(person.name)
    page.get_by_role("textbox", name="생년월일").fill(person.birth_date)
    page.get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page.get_by_text("010-****-")).to_be_visible()

    code = portal.latest_sms_code(person.phone)
    page.get_by_role("textbox", name="인증번호").fill(code)
    page.get_by_role("button", name="확인").click()

    expect(page.get_by_role("heading", name="회원정보 입력")).to_be_visible()
    page.get_by_role("textbox", name="이메일").fill(person.email)
    page.get_by_label("간편비밀번호 (PIN)").fill(person.pin)
    page.get_by_label("간편비밀번호 확인").fill(person.pin)
    page.get_by_role("button", name="가입하기").click()

    expect(page.get_by_role("heading", name=f"{person.name}님, 회원가입이 완료되었습니다")).to_be_visible()
    expect(page.get_by_text(f"가입 완료 안내 메일을 {person.email}(으)로 보냈습니다.")).to_be_visible()
    welcome = portal.outbox(to=person.email, channel="email")
    assert len(welcome) == 1
    assert "회원가입이 완료" in welcome[0]["subject"]
    expect(page.get_by_text(f"{person.name}님", exact=True)).to_be_visible()  # logged in, in the header

    # The PIN chosen on the details screen logs the new member in.
    log_out(page)
    log_in_with_pin(page, person)
    expect(page.get_by_text(person.email)).to_be_visible()


def test_a_wrong_sms_code_is_refused_beside_its_field_with_the_attempts_left_then_the_right_one_continues(
    page: Page, portal: Portal
) -> None:
    person = new_person(name="정하늘")
    page.goto("/signup/terms")
    page.get_by_label("전체 동의").check()
    page.get_by_role("button", name="동의하고 다음").click()
    page.get_by_role("textbox", name="이름").fill(person.name)
    page.get_by_role("textbox", name="생년월일").fill(person.birth_date)
    page.get_by_role("textbox", name="휴대폰 번호").fill(person.phone)
    page.get_by_role("button", name="인증번호 받기").click()

    right = portal.latest_sms_code(person.phone)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    page.get_by_role("textbox", name="인증번호").fill(wrong)
    page.get_by_role("button", name="확인").click()
    expect(page.locator("#field-code-error")).to_have_text("인증번호가 틀렸습니다. 남은 입력 횟수: 4회")
    expect(page.get_by_role("textbox", name="인증번호")).to_have_value(wrong)
    expect(page.get_by_role("textbox", name="인증번호")).to_have_attribute("aria-invalid", "true")

    # Going back to an earlier step's address brings the browser to where this sign-up stands.
    page.goto("/signup/identity")
    expect(page).to_have_url(f"{portal.url}/signup/code")
    page.get_by_role("textbox", name="인증번호").fill(right)
    page.get_by_role("button", name="확인").click()
    expect(page).to_have_url(f"{portal.url}/signup/details")
