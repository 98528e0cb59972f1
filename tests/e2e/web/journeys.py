"""People and the journeys they walk through the portal in a real browser, for tests that need a
member as a starting point, and for `make screenshots`."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from playwright.sync_api import Page, expect

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
