"""The business portal and the operator screen need their own sessions: a visitor is sent to the
right login page, a forged or foreign session cookie counts for nothing, and a wrong key or token
is refused beside its field without being shown again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backbone.app import create_app
from backbone.bootstrap import Container
from backbone.web.business_session import BUSINESS_COOKIE, OPERATOR_COOKIE

TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def browser(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), base_url="https://localhost") as client:
        yield client


def form_token(browser: TestClient, path: str) -> str:
    found = TOKEN_FIELD.search(browser.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("path", "login"),
    [("/business/apps/new", "/business/login"), ("/operator", "/operator/login")],
)
def test_a_visitor_is_sent_to_the_right_login(browser: TestClient, path: str, login: str) -> None:
    response = browser.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{login}?next=")


def test_a_forged_session_cookie_counts_for_nothing(browser: TestClient) -> None:
    browser.cookies.set(BUSINESS_COOKIE, "company.1.99999999999.forged-signature")
    browser.cookies.set(OPERATOR_COOKIE, "operator.operator.99999999999.forged-signature")
    assert browser.get("/business/apps/new", follow_redirects=False).status_code == 303
    assert browser.get("/operator", follow_redirects=False).status_code == 303


def test_a_company_session_is_no_operator_session(browser: TestClient) -> None:
    token = form_token(browser, "/business/signup")
    signed_up = browser.post(
        "/business/signup",
        data={
            "csrf_token": token,
            "name": "Moneylog",
            "business_number": "1208147521",
            "email": "a@example.com",
        },
    )
    assert signed_up.status_code == 200
    assert "bbk_" in signed_up.text
    company_cookie = browser.cookies.get(BUSINESS_COOKIE)
    assert company_cookie is not None
    assert browser.get("/business/apps/new").status_code == 200
    browser.cookies.set(OPERATOR_COOKIE, company_cookie.replace("company.", "operator.", 1))
    assert browser.get("/operator", follow_redirects=False).status_code == 303


def test_a_wrong_api_key_or_operator_token_is_refused_beside_its_field_and_not_shown_again(
    browser: TestClient,
) -> None:
    token = form_token(browser, "/business/login")
    refused = browser.post("/business/login", data={"csrf_token": token, "api_key": "bbk_wrong-key"})
    assert refused.status_code == 422
    assert "API 키가 맞지 않습니다." in refused.text
    assert "bbk_wrong-key" not in refused.text
    assert BUSINESS_COOKIE not in refused.headers.get("set-cookie", "")

    token = form_token(browser, "/operator/login")
    refused = browser.post("/operator/login", data={"csrf_token": token, "token": "not-it"})
    assert refused.status_code == 422
    assert "운영자 토큰이 맞지 않습니다." in refused.text
    assert "not-it" not in refused.text
