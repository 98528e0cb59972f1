"""The business portal and the operator's screen in a real browser: a fintech company signs up (its
API key shown once), registers an app (its client secret shown once, and working at the token
endpoint), asks for production access, and the operator approves it; the open API's reference is
Swagger UI served by Backbone itself. The two forms validate on the server as well as in the page,
with errors beside their fields in the page's language and the typed values kept."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.conftest import OPERATOR_TOKEN
from tests.e2e.web.harness import Portal
from tests.e2e.web.journeys import REDIRECT_URI, fresh_business_number


def sign_up_company(page: Page, business_number: str, name: str = "머니로그 주식회사") -> str:
    page.goto("/business")
    page.get_by_role("link", name="기업 회원가입").first.click()
    page.get_by_role("textbox", name="회사명").fill(name)
    page.get_by_role("textbox", name="사업자등록번호").fill(business_number)
    page.get_by_role("textbox", name="담당자 이메일").fill("developers@example.com")
    page.get_by_role("button", name="가입하기").click()
    key = page.locator("[data-api-key]").inner_text()
    assert key.startswith("bbk_")
    return key


def test_a_company_signs_up_registers_an_app_gets_credentials_and_the_operator_approves_it(
    page: Page, portal: Portal
) -> None:
    api_key = sign_up_company(page, fresh_business_number())
    expect(page.get_by_text("API 키는 지금 한 번만 보여 드립니다.", exact=False)).to_be_visible()
    with httpx.Client(base_url=portal.url, timeout=30) as client:
        company = client.get("/api/v1/business/company", headers={"Authorization": f"Bearer {api_key}"})
    assert company.status_code == 200
    assert company.json()["name"] == "머니로그 주식회사"

    page.get_by_role("link", name="기업 포털로").click()
    expect(page.get_by_role("heading", name="머니로그 주식회사", level=1)).to_be_visible()
    page.get_by_role("navigation", name="기업 포털").get_by_role("link", name="앱 등록").click()
    page.get_by_role("textbox", name="앱 이름").fill("머니로그")
    page.get_by_role("textbox", name="앱 설명").fill("흩어진 자산을 한눈에")
    page.get_by_role("textbox", name="리디렉션 URI").fill(REDIRECT_URI)
    page.get_by_label("계좌 조회").check()
    page.get_by_label("시세 조회").check()
    page.get_by_role("button", name="앱 등록").click()

    client_id = page.locator("[data-client-id]").first.inner_text()
    secret = page.locator("[data-client-secret]").inner_text()
    assert secret.startswith("bbs_")
    expect(page.locator("[data-app-status]")).to_have_attribute("data-app-status", "sandbox")
    sandbox = httpx.post(
        f"{portal.url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "market.read"},
        auth=(client_id, secret),
        timeout=30,
    )
    assert sandbox.status_code == 200, sandbox.text
    page.goto(f"/business/apps/{client_id}")
    expect(page.locator("[data-client-secret]")).to_have_count(0)  # shown once, kept only hashed

    page.get_by_role("button", name="운영 승인 요청").click()
    expect(page.locator("[data-app-status]")).to_have_attribute("data-app-status", "pending_approval")

    page.goto("/operator")
    expect(page).to_have_url(re.compile(r"/operator/login"))
    page.get_by_label("운영자 토큰").fill("not-the-token")
    page.get_by_role("button", name="로그인").click()
    expect(page.locator("#field-token-error")).to_have_text("운영자 토큰이 맞지 않습니다.")
    page.get_by_label("운영자 토큰").fill(OPERATOR_TOKEN)
    page.get_by_role("button", name="로그인").click()
    expect(page.locator("[data-ready]")).to_have_attribute("data-ready", "yes")
    expect(page.locator("[data-firms] tr[data-firm=HNB]")).to_be_visible()
    row = page.locator(f"[data-pending-apps] tr[data-client-id='{client_id}']")
    row.get_by_role("button", name="머니로그 승인").click()
    expect(page.locator(f"[data-pending-apps] tr[data-client-id='{client_id}']")).to_have_count(0)

    page.goto(f"/business/apps/{client_id}")
    expect(page.locator("[data-app-status]")).to_have_attribute("data-app-status", "production")
    expect(page.locator("[data-usage]")).to_contain_text("1,000,000")


def test_the_open_api_reference_is_swagger_ui_served_by_backbone_itself(page: Page, portal: Portal) -> None:
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: elsewhere.append(request.url) if not request.url.startswith(portal.url) else None,
    )
    page.goto("/business/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Backbone open API", timeout=20_000)
    expect(page.locator(".swagger-ui .opblock-tag").first).to_be_visible()
    assert elsewhere == []


def test_company_sign_up_is_checked_by_the_server_beside_each_field_in_english_and_keeps_the_values(
    chromium: Browser, portal: Portal
) -> None:
    context = chromium.new_context(base_url=portal.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/language/en?next=/business/signup")
        page.get_by_role("textbox", name="Company name").fill("Moneylog Inc.")
        page.get_by_role("textbox", name="Business registration number").fill("123-45-67890")
        page.get_by_role("textbox", name="Contact e-mail").fill("not-an-address")
        page.get_by_role("button", name="Sign up").click()

        expect(page.locator("#field-business_number-error")).to_have_text(
            "Enter a valid 10-digit business registration number."
        )
        expect(page.locator("#field-email-error")).to_be_visible()
        expect(page.locator("#field-name-error")).to_be_hidden()
        expect(page.get_by_role("textbox", name="Business registration number")).to_have_attribute(
            "aria-invalid", "true"
        )
        expect(page.get_by_role("textbox", name="Company name")).to_have_value("Moneylog Inc.")
        expect(page.get_by_role("textbox", name="Business registration number")).to_have_value("123-45-67890")
        expect(page.get_by_role("textbox", name="Contact e-mail")).to_have_value("not-an-address")

        # A well-formed number already registered: the service's refusal, beside the same field.
        taken = fresh_business_number()
        with httpx.Client(base_url=portal.url, timeout=30) as client:
            first = client.post(
                "/api/v1/business/companies",
                json={"name": "First", "business_number": taken, "email": "first@example.com"},
            )
            assert first.status_code == 201
        page.get_by_role("textbox", name="Business registration number").fill(taken)
        page.get_by_role("textbox", name="Contact e-mail").fill("team@example.com")
        page.get_by_role("button", name="Sign up").click()
        expect(page.locator("#field-business_number-error")).to_have_text(
            "A company with this business registration number is registered."
        )
        expect(page.get_by_role("textbox", name="Contact e-mail")).to_have_value("team@example.com")
    finally:
        context.close()


def test_app_registration_is_checked_in_the_page_then_by_the_server_keeping_what_was_typed(
    page: Page, portal: Portal
) -> None:
    sign_up_company(page, fresh_business_number(), name="체크 주식회사")
    page.goto("/business/apps/new")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    page.get_by_role("button", name="앱 등록").click()
    expect(page.locator("#field-name-error")).to_have_text("필수 입력 항목입니다.")
    assert sent == []

    page.get_by_role("textbox", name="앱 이름").fill("체크앱")
    page.get_by_role("textbox", name="앱 설명").fill("설명")
    page.get_by_role("textbox", name="리디렉션 URI").fill(
        "http://example.com/callback\nhttps://ok.example.com/cb#x"
    )
    page.get_by_role("button", name="앱 등록").click()  # no scope chosen: only the server knows
    expect(page.locator("#field-redirect_uris-error")).to_contain_text("http://example.com/callback")
    expect(page.locator("#field-scopes-error")).to_have_text("권한을 하나 이상 선택하세요.")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("textbox", name="앱 이름")).to_have_value("체크앱")
    expect(page.get_by_role("textbox", name="앱 설명")).to_have_value("설명")
    expect(page.get_by_role("textbox", name="리디렉션 URI")).to_have_value(
        "http://example.com/callback\nhttps://ok.example.com/cb#x"
    )
    expect(page.get_by_role("textbox", name="앱 이름")).not_to_have_attribute("aria-invalid", "true")

    page.get_by_role("textbox", name="리디렉션 URI").fill(REDIRECT_URI)
    page.get_by_label("시세 조회").check()
    page.get_by_role("button", name="앱 등록").click()
    expect(page.locator("[data-client-secret]")).to_be_visible()
