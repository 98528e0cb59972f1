"""The portal beside the API on one application: pages are HTML with strict security headers, the
API keeps problem+json, a page that needs a member sends the browser to log in, and a refusal on a
page is a readable page in the person's language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backbone.app import create_app
from backbone.bootstrap import Container


@pytest.fixture
def browser(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), base_url="http://localhost") as client:
        yield client


def test_pages_allow_only_backbones_own_scripts_and_are_never_cached(browser: TestClient) -> None:
    home = browser.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    policy = home.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert home.headers["cache-control"] == "no-store"
    assert '<html lang="ko">' in home.text
    assert "backbone_browser" in home.headers["set-cookie"]


def test_unknown_pages_are_html_in_the_chosen_language_while_the_api_keeps_problem_json(
    browser: TestClient,
) -> None:
    browser.cookies.set("backbone_lang", "en")
    page = browser.get("/no-such-page")
    assert page.status_code == 404
    assert "There is no such page." in page.text
    api = browser.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_my_page_sends_a_visitor_to_log_in_and_back(browser: TestClient) -> None:
    response = browser.get("/my/security", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/my/security"


def test_the_trading_screen_sends_a_visitor_to_log_in_and_refuses_a_tokenless_order(
    browser: TestClient,
) -> None:
    response = browser.get("/trading?instrument=005930", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/trading")
    refused = browser.post(
        "/trading/orders",
        data={"account": "1", "instrument": "005930", "side": "buy", "price": "70000", "quantity": "1"},
    )
    assert refused.status_code == 403


def test_a_form_posted_without_its_token_changes_nothing_and_says_why(browser: TestClient) -> None:
    browser.get("/signup/terms")
    response = browser.post(
        "/signup/terms",
        data={
            "term_service": "2026-01-01",
            "term_privacy": "2026-01-01",
            "term_identification": "2026-01-01",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "입력 화면이 만료되었습니다" in response.text
    assert "backbone_signup" not in response.headers.get("set-cookie", "")


def test_the_language_link_only_returns_to_a_page_of_this_site(browser: TestClient) -> None:
    response = browser.get("/language/en", params={"next": "https://evil.example/"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "backbone_lang=en" in response.headers["set-cookie"]
