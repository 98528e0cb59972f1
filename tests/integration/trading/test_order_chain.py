"""Orders from accounts to the venue and back, booked to the ledger, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from backbone.bootstrap import Container
from backbone.brokerage.trading import repository
from backbone.brokerage.trading.desk import PlaceRequest
from backbone.brokerage.trading.domain import OrderRecord, OrderStatus
from backbone.brokerage.trading.errors import OrderNotOpen
from backbone.errors import BackboneError
from backbone.exchange.orders import Side
from backbone.kit.clock import SimulatedClock
from backbone.kit.money import MICRO_PER_SHARE
from backbone.ledger.audit import audit
from backbone.ledger.models import AccountRow, HoldRow
from tests import builders
from tests.trading import advance, cancel, limit, market, modify, open_market, place, placed, trading


def test_a_buy_crossing_two_resting_sales_fills_both_and_books_fees_and_tax(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        buyer = builders.account(container, session, name="김매수", cash=10_000_000)
        seller = builders.account(container, session, name="이매도", shares={"005930": 100})
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        first = placed(opened, seller.id, limit(Side.SELL, 30, 71_500))
        second = placed(opened, seller.id, limit(Side.SELL, 20, 71_600))
        bought = placed(opened, buyer.id, limit(Side.BUY, 40, 71_600))
        assert bought.status is OrderStatus.FILLED
        assert bought.filled_quantity == 40
        assert bought.filled_value_won == 30 * 71_500 + 10 * 71_600
        with container.database.reading() as session:
            buyer_balance = container.holdings.balance(session, buyer)
            seller_balance = container.holdings.balance(session, seller)
            report = audit(session)
    assert first.status is OrderStatus.ACCEPTED
    assert second.status is OrderStatus.ACCEPTED
    gross_buy_1, gross_buy_2 = 30 * 71_500, 10 * 71_600  # two fills: commission per fill, cut below 10 won
    commission = sum(gross * 150 // 1_000_000 // 10 * 10 for gross in (gross_buy_1, gross_buy_2))
    assert buyer_balance.cash_today == 10_000_000 - commission  # the value is paid at settlement
    assert buyer_balance.cash_second_day == 10_000_000 - commission - gross_buy_1 - gross_buy_2
    assert buyer_balance.cash_available == 10_000_000 - commission - gross_buy_1 - gross_buy_2
    assert buyer_balance.cash_held == 0
    (position,) = buyer_balance.positions
    assert position.total == 40 * MICRO_PER_SHARE
    assert position.average_price == (gross_buy_1 + gross_buy_2) // 40
    seller_gross = gross_buy_1 + gross_buy_2
    seller_fees = sum(
        gross * 150 // 1_000_000 // 10 * 10 + gross * 2_000 // 1_000_000
        for gross in (gross_buy_1, gross_buy_2)
    )
    assert seller_balance.cash_today == 0
    assert seller_balance.cash_second_day == seller_gross - seller_fees
    shares = {p.instrument: (p.available, p.held) for p in seller_balance.positions}
    assert shares["005930"] == (50 * MICRO_PER_SHARE, 10 * MICRO_PER_SHARE)  # 10 still offered
    assert report.ok, report.violations


def snapshot(container: Container) -> tuple[object, ...]:
    with container.database.reading() as session:
        return (
            tuple(session.execute(select(AccountRow.id, AccountRow.balance).order_by(AccountRow.id))),
            tuple(session.execute(select(HoldRow.id, HoldRow.remaining).order_by(HoldRow.id))),
        )


def test_cancelling_the_rest_of_a_partly_filled_buy_gives_back_its_hold(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        buyer = builders.account(container, session, name="김매수", cash=5_000_000)
        seller = builders.account(container, session, name="이매도", shares={"005930": 10})
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        placed(opened, seller.id, limit(Side.SELL, 10, 71_000))
        order = placed(opened, buyer.id, limit(Side.BUY, 30, 71_000))
        assert (order.status, order.filled_quantity, order.open_quantity) == (
            OrderStatus.PARTIALLY_FILLED,
            10,
            20,
        )
        with container.database.reading() as session:
            assert (
                container.holdings.balance(session, buyer).cash_held
                == 20 * 71_000 + 20 * 71_000 * 150 // 1_000_000 // 10 * 10
            )
        cancelled = cancel(opened, buyer.id, order.id)
        assert isinstance(cancelled, OrderRecord)
        assert (cancelled.status, cancelled.filled_quantity, cancelled.cancelled_quantity) == (
            OrderStatus.CANCELLED,
            10,
            20,
        )
        with container.database.reading() as session:
            balance = container.holdings.balance(session, buyer)
        commission = 710_000 * 150 // 1_000_000 // 10 * 10
        assert balance.cash_held == 0
        assert balance.cash_available == 5_000_000 - 710_000 - commission
        refused = cancel(opened, buyer.id, order.id)
        assert isinstance(refused, OrderNotOpen)


def test_settlement_moves_the_money_two_trading_days_later(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        buyer = builders.account(container, session, name="김매수", cash=2_000_000)
        seller = builders.account(container, session, name="이매도", shares={"005930": 10})
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)  # Monday 2026-11-23
        placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        placed(opened, buyer.id, limit(Side.BUY, 10, 71_500))
        gross, commission, tax = 715_000, 100, 1_430
        with container.database.reading() as session:
            before = container.holdings.balance(session, seller)
        assert (before.cash_today, before.cash_next_day, before.cash_second_day) == (
            0,
            0,
            gross - commission - tax,
        )
        advance(clock, opened, timedelta(days=1))  # Tuesday: nothing settles yet
        with container.database.reading() as session:
            tuesday = container.holdings.balance(session, seller)
        assert (tuesday.cash_today, tuesday.cash_next_day) == (0, gross - commission - tax)
        advance(clock, opened, timedelta(days=1))  # Wednesday: T+2, settled at the day's opening
        with container.database.reading() as session:
            seller_after = container.holdings.balance(session, seller)
            buyer_after = container.holdings.balance(session, buyer)
            report = audit(session)
    assert seller_after.cash_today == seller_after.cash_second_day == gross - commission - tax
    assert seller_after.withdrawable == gross - commission - tax
    assert buyer_after.cash_today == buyer_after.cash_second_day == 2_000_000 - gross - commission
    assert report.ok, report.violations


def test_every_pre_trade_refusal_has_a_code_and_leaves_the_ledger_untouched(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=1_000_000, shares={"005930": 5})
        other = builders.account(container, session, name="박타인", cash=1_000_000)
    with trading(container, tmp_path) as opened:
        closed = place(opened, account.id, limit(Side.BUY, 1, 71_500))
        assert isinstance(closed, BackboneError)
        assert closed.code == "order.market_closed"
        open_market(clock, opened, at=(8, 40))  # the pre-open call auction
        assert _code(place(opened, account.id, market(Side.BUY, 1))) == "order.not_allowed_in_auction"
        open_market(clock, opened)
        mine = placed(opened, account.id, limit(Side.BUY, 1, 70_000))
        before = snapshot(container)
        cases = {
            "order.insufficient_buying_power": limit(Side.BUY, 100, 71_500),
            "order.insufficient_shares": limit(Side.SELL, 6, 71_500),
            "order.price_off_tick": limit(Side.BUY, 1, 71_550),
            "order.price_outside_limits": limit(Side.BUY, 1, 99_900),
            "order.quantity_not_positive": limit(Side.BUY, 0, 71_500),
            "order.quantity_above_maximum": limit(Side.BUY, 2_000_000, 71_500),
            "market.unknown_instrument": limit(Side.BUY, 1, 71_500, code="999999"),
        }
        for code, ticket in cases.items():
            assert _code(place(opened, account.id, ticket)) == code
        assert _code(cancel(opened, other.id, mine.id)) == "order.unknown"  # someone else's order
        assert _code(cancel(opened, account.id, 12345)) == "order.unknown"
        assert _code(place(opened, account.id, limit(Side.BUY, 2, 70_000), key=mine.client_order_key)) == (
            "order.client_order_key_reused"
        )
        assert snapshot(container) == before


def test_a_market_order_into_an_empty_book_is_refused_by_the_venue_and_its_hold_given_back(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=10_000_000)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        refused = place(opened, account.id, market(Side.BUY, 10))
        assert _code(refused) == "order.no_liquidity"
        assert isinstance(refused, BackboneError)
        with container.database.reading() as session:
            order = repository.orders_by_ids(session, [refused.extensions["order_id"]])[
                refused.extensions["order_id"]
            ]
            balance = container.holdings.balance(session, account)
    assert order.status is OrderStatus.REJECTED
    assert order.reject_code == "order.no_liquidity"
    assert (balance.cash_available, balance.cash_held) == (10_000_000, 0)


def test_modifying_a_buy_holds_more_or_gives_back_the_difference(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=1_000_000)
    fees = 150
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        order = placed(opened, account.id, limit(Side.BUY, 10, 70_000))
        cheaper = modify(opened, account.id, order.id, price=60_000)
        assert isinstance(cheaper, OrderRecord)
        assert cheaper.price == 60_000
        with container.database.reading() as session:
            assert (
                container.holdings.balance(session, account).cash_held
                == 600_000 + 600_000 * fees // 1_000_000 // 10 * 10
            )
        more = modify(opened, account.id, order.id, quantity=16)
        assert isinstance(more, OrderRecord)
        assert (more.quantity, more.open_quantity) == (16, 16)
        assert _code(modify(opened, account.id, order.id, quantity=17)) == "order.insufficient_buying_power"
        assert _code(modify(opened, account.id, order.id, quantity=16)) == "order.nothing_to_modify"
        with container.database.reading() as session:
            balance = container.holdings.balance(session, account)
            report = audit(session)
    assert balance.cash_held == 960_000 + 960_000 * fees // 1_000_000 // 10 * 10
    assert balance.cash_available == 1_000_000 - balance.cash_held
    assert report.ok, report.violations


def test_day_orders_expire_at_the_close_and_give_back_their_holds(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=1_000_000, shares={"000660": 3})
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        buy = placed(opened, account.id, limit(Side.BUY, 5, 70_000))
        sell = placed(opened, account.id, limit(Side.SELL, 3, 200_000, code="000660"))
        open_market(clock, opened, at=(15, 31))
        with container.database.reading() as session:
            orders = repository.orders_by_ids(session, [buy.id, sell.id])
            balance = container.holdings.balance(session, account)
    assert {order.status for order in orders.values()} == {OrderStatus.EXPIRED}
    assert (balance.cash_held, balance.cash_available) == (0, 1_000_000)
    assert balance.positions[0].held == 0


def test_orders_in_the_pre_open_auction_trade_at_the_opening_price(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        buyer = builders.account(container, session, name="김매수", cash=5_000_000)
        seller = builders.account(container, session, name="이매도", shares={"005930": 20})
    with trading(container, tmp_path) as opened:
        open_market(clock, opened, at=(8, 35))
        bid = placed(opened, buyer.id, limit(Side.BUY, 20, 72_000))
        ask = placed(opened, seller.id, limit(Side.SELL, 20, 71_000))
        assert (bid.status, ask.status) == (
            OrderStatus.ACCEPTED,
            OrderStatus.ACCEPTED,
        )  # collected, not matched
        open_market(clock, opened)  # 09:00: the opening uncross
        with container.database.reading() as session:
            orders = repository.orders_by_ids(session, [bid.id, ask.id])
    assert {order.status for order in orders.values()} == {OrderStatus.FILLED}
    # Equal volume at every price from 71,000 to 72,000; the reference (base price 71,500) decides.
    assert orders[bid.id].average_fill_price == 71_500


def test_a_retried_order_key_places_the_order_once(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        account = builders.account(container, session, cash=1_000_000)
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        first = place(opened, account.id, limit(Side.BUY, 5, 70_000), key="client-1")
        again = place(opened, account.id, limit(Side.BUY, 5, 70_000), key="client-1")
        assert isinstance(first, OrderRecord)
        assert isinstance(again, OrderRecord)
        assert first.id == again.id
        with container.database.reading() as session:
            assert container.holdings.balance(session, account).cash_held == 350_000 + 50


def test_results_the_venue_published_before_a_crash_are_booked_once_at_restart(
    container: Container, clock: SimulatedClock, tmp_path: Path
) -> None:
    with container.database.transaction() as session:
        builders.firm(container, session)
        buyer = builders.account(container, session, name="김매수", cash=5_000_000)
        seller = builders.account(container, session, name="이매도", shares={"005930": 10})
    with trading(container, tmp_path) as opened:
        open_market(clock, opened)
        placed(opened, seller.id, limit(Side.SELL, 10, 71_500))
        # The crash: admitted and matched, but the booking transaction never commits.
        with container.database.transaction() as session:
            admission = opened.desk.admit(
                session, PlaceRequest(buyer.id, "crash-1", limit(Side.BUY, 10, 71_500))
            )
        assert admission.command is not None
        opened.venue.execute([admission.command])
        # And an order admitted but never sent.
        with container.database.transaction() as session:
            lost = opened.desk.admit(session, PlaceRequest(buyer.id, "crash-2", limit(Side.BUY, 1, 70_000)))
    with trading(container, tmp_path) as restarted:
        with container.database.reading() as session:
            orders = repository.orders_by_ids(session, [admission.order_id, lost.order_id])
            balance = container.holdings.balance(session, buyer)
            report = audit(session)
        restarted.pipeline.recover()  # a second recovery books nothing twice
        with container.database.reading() as session:
            assert container.holdings.balance(session, buyer) == balance
    assert orders[admission.order_id].status is OrderStatus.FILLED
    assert orders[lost.order_id].status is OrderStatus.REJECTED
    assert orders[lost.order_id].reject_code == "order.not_delivered"
    assert balance.cash_held == 0
    assert balance.positions[0].total == 10 * MICRO_PER_SHARE
    assert report.ok, report.violations


def _code(outcome: object) -> str:
    assert isinstance(outcome, BackboneError), f"expected a refusal, got {outcome!r}"
    return outcome.code
