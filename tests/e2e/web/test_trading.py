"""The trading screen in real Chromium against a real server running the market on a simulated
clock (open for continuous trading): an order placed on the page rests in the live order book and,
once another investor's sale fills it, shows in the balance; a buy beyond buying power is refused
beside its field and changes nothing; an open order is modified and cancelled from the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.web.conftest import context_for, watched_page
from tests.e2e.web.journeys import log_in_with_pin
from tests.e2e.web.market import Investor, Market, running_market

LIVE = "trading_feed_live"


def commission(gross: int) -> int:
    """0.015% per fill, cut below 10 won (docs/trading.md)."""
    raw = gross * 150 // 1_000_000
    return raw - raw % 10


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with running_market(tmp_path_factory.mktemp("market")) as running:
        yield running


@pytest.fixture
def trading_page(chromium: Browser, market: Market) -> Iterator[Page]:
    with context_for(chromium, market.portal.url) as context, watched_page(context) as opened:
        yield opened


def open_screen(page: Page, investor: Investor, instrument: str) -> None:
    log_in_with_pin(page, investor.person)
    page.goto(f"/trading?instrument={instrument}")
    expect(page.get_by_role("heading", name="주식 주문 (WTS)", level=1)).to_be_visible()
    expect(page.locator("[data-feed-status]")).to_have_attribute("data-state", LIVE)


def bid_quantity(page: Page, price: int) -> str:
    return f'[data-book-side="bid"][data-price="{price}"] [data-quantity]'


def test_an_order_placed_on_the_screen_rests_in_the_live_book_and_after_a_fill_shows_in_the_balance(
    trading_page: Page, market: Market
) -> None:
    page = trading_page
    buyer = market.investor("박매수", cash_won=10_000_000)
    maker = market.investor("이호가", cash_won=1_000_000)
    seller = market.investor("최매도", cash_won=100_000, shares={"005930": 50})
    maker.place("maker-1", instrument="005930", side="buy", price=70_000, quantity=3)

    open_screen(page, buyer, "005930")
    expect(page.locator(bid_quantity(page, 70_000))).to_have_text("3")
    expect(page.locator("[data-cash='d2']")).to_have_text("10,000,000")

    ticket = page.locator("[data-order-ticket]")
    ticket.get_by_label("매수").check()
    ticket.get_by_label("지정가").check()
    ticket.get_by_label("주문 가격 (원)").fill("70000")
    ticket.get_by_label("주문 수량 (주)").fill("7")
    ticket.get_by_role("button", name="주문하기").click()

    expect(page.get_by_text("주문이 접수되어 호가에 올랐습니다.")).to_be_visible()
    # The feed, not a reload, grows the level: the buyer's 7 join the maker's 3.
    expect(page.locator(bid_quantity(page, 70_000))).to_have_text("10")
    (order,) = buyer.open_orders()
    row = page.locator(f"[data-order='{order['id']}']")
    expect(row.locator("[data-open-quantity]")).to_have_text("7")
    held = 70_000 * 7 + commission(70_000 * 7)
    expect(page.locator("[data-cash='buying-power']")).to_have_text(f"{10_000_000 - held:,}")

    # Another investor sells 10 at 70,000 through the API: the maker's 3 first, then the buyer's 7.
    sold = seller.place("seller-1", instrument="005930", side="sell", price=70_000, quantity=10)
    assert sold["status"] == "filled", sold

    gross = 70_000 * 7
    expect(page.locator("[data-position='005930'] [data-position-quantity]")).to_have_text("7")
    expect(page.locator("[data-cash='today']")).to_have_text(f"{10_000_000 - commission(gross):,}")
    expect(page.locator("[data-cash='d2']")).to_have_text(f"{10_000_000 - commission(gross) - gross:,}")
    expect(page.locator("[data-no-open-orders]")).to_be_visible()
    expect(page.locator(bid_quantity(page, 70_000))).to_have_count(0)
    expect(page.locator("[data-trades] tr").first).to_contain_text("70,000")
    balance = buyer.balance()
    assert balance["positions"][0]["quantity"] == "7"
    assert balance["cash_second_day_won"] == 10_000_000 - commission(gross) - gross


def test_a_buy_beyond_buying_power_is_refused_beside_its_field_and_changes_nothing(
    trading_page: Page, market: Market
) -> None:
    page = trading_page
    investor = market.investor("한부족", cash_won=1_000_000)
    open_screen(page, investor, "000660")

    ticket = page.locator("[data-order-ticket]")
    ticket.get_by_label("주문 가격 (원)").fill("180000")
    ticket.get_by_label("주문 수량 (주)").fill("10")
    ticket.get_by_role("button", name="주문하기").click()

    quantity = ticket.get_by_label("주문 수량 (주)")
    error = page.locator("#field-quantity-error")
    needed = 180_000 * 10 + commission(180_000 * 10)
    expect(error).to_have_text(
        f"주문가능금액이 부족합니다. 필요 금액 {needed:,}원 (수수료 포함), 주문가능금액 1,000,000원"
    )
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(quantity).to_have_value("10")  # what was typed is kept
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("[data-buying-power]")).to_have_text("1,000,000")
    expect(page.locator("[data-no-open-orders]")).to_be_visible()
    assert investor.open_orders() == []
    assert investor.balance()["buying_power_won"] == 1_000_000

    # Without scripts the same form posts as a whole page: refused by the server alone (422).
    fields: dict[str, str | float | bool] = {
        name: page.locator(f"[data-order-ticket] input[name='{name}']").input_value()
        for name in ("csrf_token", "account", "instrument", "order_key")
    }
    answer = page.request.post(
        "/trading/orders",
        form=fields | {"side": "buy", "order_type": "limit", "price": "180000", "quantity": "10"},
    )
    assert answer.status == 422
    assert f"필요 금액 {needed:,}원" in answer.text()
    assert investor.open_orders() == []


def test_an_open_order_is_modified_and_cancelled_from_the_screen(trading_page: Page, market: Market) -> None:
    page = trading_page
    investor = market.investor("정취소", cash_won=2_000_000)
    placed = investor.place("resting-1", instrument="035420", side="buy", price=185_000, quantity=4)
    assert placed["status"] == "accepted", placed
    open_screen(page, investor, "035420")
    expect(page.locator(bid_quantity(page, 185_000))).to_have_text("4")

    order_id = placed["id"]
    row = page.locator(f"[data-order='{order_id}']")
    row.get_by_label(f"주문 {order_id}의 정정 수량").fill("2")
    row.get_by_role("button", name=f"주문 {order_id} 정정").click()
    expect(page.get_by_text("주문을 정정했습니다.")).to_be_visible()
    expect(page.locator(f"[data-order='{order_id}'] [data-open-quantity]")).to_have_text("2")
    expect(page.locator(bid_quantity(page, 185_000))).to_have_text("2")

    page.locator(f"[data-order='{order_id}']").get_by_role("button", name=f"주문 {order_id} 취소").click()
    expect(page.get_by_text("주문을 취소했습니다.")).to_be_visible()
    expect(page.locator("[data-no-open-orders]")).to_be_visible()
    expect(page.locator(bid_quantity(page, 185_000))).to_have_count(0)
    expect(page.locator("[data-buying-power]")).to_have_text("2,000,000")
    assert investor.open_orders() == []
    assert investor.balance()["buying_power_won"] == 2_000_000


def test_the_screen_needs_a_login_and_speaks_english_on_request(trading_page: Page, market: Market) -> None:
    page = trading_page
    page.goto("/trading")
    expect(page).to_have_url(f"{market.portal.url}/login?next=/trading")
    investor = market.investor("김영어", cash_won=500_000)
    open_screen(page, investor, "005930")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Trading (WTS)", level=1)).to_be_visible()
    expect(page.get_by_label("Quantity (shares)")).to_be_visible()
    expect(page.locator("[data-feed-status]")).to_have_text("Live quotes")
    page.get_by_role("link", name="한국어").click()


def test_the_ticket_works_from_the_keyboard_with_a_visible_focus(trading_page: Page, market: Market) -> None:
    page = trading_page
    investor = market.investor("배키보", cash_won=5_000_000)
    investor.place("keyboard-1", instrument="005380", side="buy", price=239_500, quantity=1)
    open_screen(page, investor, "005380")

    # A price in the book is a button: Enter puts it on the ticket and moves there.
    page.locator('[data-book-side="bid"][data-price="239500"] [data-book-price]').focus()
    page.keyboard.press("Enter")
    ticket = page.locator("[data-order-ticket]")
    price = ticket.get_by_label("주문 가격 (원)")
    expect(price).to_be_focused()
    expect(price).to_have_value("239500")

    # The side is a radio group: arrows move the choice, and the chosen label shows the focus ring.
    ticket.get_by_label("매수").focus()
    page.keyboard.press("ArrowRight")
    expect(ticket.get_by_label("매도")).to_be_checked()
    ring = page.locator("label[for='side-sell']").evaluate("label => getComputedStyle(label).outlineStyle")
    assert ring == "solid"
    page.keyboard.press("ArrowLeft")
    expect(ticket.get_by_label("매수")).to_be_checked()

    quantity = ticket.get_by_label("주문 수량 (주)")
    quantity.focus()
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.get_by_text("주문이 접수되어 호가에 올랐습니다.")).to_be_visible()
    expect(page.locator('[data-book-side="bid"][data-price="239500"] [data-quantity]')).to_have_text("3")
    assert sorted(order["quantity"] for order in investor.open_orders()) == [1, 2]
