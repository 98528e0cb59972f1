"""The portfolio chart's slices (server-drawn SVG) and the journey steps the app page shows."""

from __future__ import annotations

import pytest

from backbone.open_platform.adapters.interface import FirmBalance, FirmPosition
from backbone.open_platform.journey.service import JourneyStep
from backbone.web.charts import CASH, OTHERS, SLICES_MAX, portfolio_slices
from backbone.web.pages.journey import step_views


def position(instrument: str, valuation_won: int) -> FirmPosition:
    return FirmPosition(
        instrument=instrument,
        quantity_micro=1_000_000,
        sellable_micro=1_000_000,
        average_price_won=valuation_won,
        cost_won=valuation_won,
        last_price_won=valuation_won,
        valuation_won=valuation_won,
        profit_won=0,
    )


def balance(cash_won: int, *positions: FirmPosition) -> FirmBalance:
    return FirmBalance(
        cash_won=cash_won,
        cash_next_day_won=cash_won,
        cash_second_day_won=cash_won,
        withdrawable_won=cash_won,
        buying_power_won=cash_won,
        positions=positions,
    )


def test_slices_add_holdings_across_firms_and_cash_and_close_the_circle() -> None:
    slices = portfolio_slices(
        [
            balance(100, position("005930", 300)),
            balance(100, position("005930", 200), position("000660", 300)),
        ]
    )
    assert [(item.label, item.value_won) for item in slices] == [
        ("005930", 500),
        ("000660", 300),
        (CASH, 200),
    ]
    assert sum(item.percent for item in slices) == pytest.approx(100)
    assert [item.offset for item in slices] == pytest.approx([0, 50, 80])
    assert slices[1].dash == "30.000 70.000"
    assert slices[1].dash_offset == "-25.000"  # starts at noon, after the first half


def test_the_smallest_holdings_beyond_the_limit_join_one_slice() -> None:
    many = [position(f"{index:06d}", 1_000 - index) for index in range(SLICES_MAX + 3)]
    slices = portfolio_slices([balance(0, *many)])
    assert len(slices) == SLICES_MAX + 1
    assert slices[-1].label == OTHERS
    assert slices[-1].value_won == sum(1_000 - index for index in range(SLICES_MAX, SLICES_MAX + 3))


def test_nothing_held_draws_nothing() -> None:
    assert portfolio_slices([balance(0)]) == []


def test_steps_follow_seed_002_and_the_first_missing_one_is_current() -> None:
    views = step_views([JourneyStep("apply", None, "apply")], [])
    assert [(view.name, view.state) for view in views] == [
        ("apply", "current"),
        ("virtual_account", "todo"),
        ("platform_consent", "todo"),
        ("link_accounts", "todo"),
        ("fintech_consent", "todo"),
    ]


def test_before_linking_the_platform_consent_step_names_the_members_unsigned_firms() -> None:
    views = step_views([JourneyStep("link_accounts", None, "choose")], ["DRM", "HNB"])
    states = {view.name: view.state for view in views}
    assert states == {
        "apply": "done",
        "virtual_account": "done",
        "platform_consent": "current",
        "link_accounts": "todo",
        "fintech_consent": "todo",
    }
    assert views[2].firms == ("DRM", "HNB")


def test_after_linking_only_the_missing_consents_remain() -> None:
    views = step_views([JourneyStep("fintech_consent", "HNB", "sign")], [])
    assert {view.name: view.state for view in views}["fintech_consent"] == "current"
    assert {view.name: view.state for view in views}["platform_consent"] == "done"
    assert step_views([], []) == [view for view in step_views([], []) if view.state == "done"]
