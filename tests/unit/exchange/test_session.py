"""The KRX session schedule and the engine's trading day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from backbone.exchange.messages import SessionPhaseChanged
from backbone.exchange.orders import RejectReason
from backbone.exchange.phases import SessionPhase
from backbone.exchange.schedule import SessionSchedule, instant_of, timestamp_ns
from backbone.kit.check import InvariantViolation
from backbone.kit.clock import SEOUL, SimulatedClock
from tests.unit.exchange.builders import (
    SAMSUNG,
    T0,
    buy,
    engine_in,
    of_type,
    phase,
    rejected,
    run,
    sell,
)

CLOSED = SessionPhase.CLOSED
PRE_OPEN = SessionPhase.PRE_OPEN_AUCTION
CONTINUOUS = SessionPhase.CONTINUOUS
CLOSING = SessionPhase.CLOSING_AUCTION


def kst(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, second, tzinfo=SEOUL)  # 2025-01-06 is a Monday


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (kst(6, 8, 29, 59), CLOSED),
        (kst(6, 8, 30), PRE_OPEN),
        (kst(6, 8, 59, 59), PRE_OPEN),
        (kst(6, 9, 0), CONTINUOUS),
        (kst(6, 15, 19, 59), CONTINUOUS),
        (kst(6, 15, 20), CLOSING),
        (kst(6, 15, 29, 59), CLOSING),
        (kst(6, 15, 30), CLOSED),
        (kst(4, 10, 0), CLOSED),  # Saturday
        (kst(5, 10, 0), CLOSED),  # Sunday
    ],
)
def test_schedule_gives_the_krx_phase_at_an_instant(instant: datetime, expected: SessionPhase) -> None:
    assert SessionSchedule().phase_at(instant) is expected


def test_schedule_reads_the_injected_clock_in_korean_time() -> None:
    clock = SimulatedClock(datetime(2025, 1, 6, 0, 30, tzinfo=UTC))  # 09:30 KST
    assert SessionSchedule().phase_now(clock) is CONTINUOUS


def test_holidays_are_closed_all_day() -> None:
    schedule = SessionSchedule(holidays=frozenset({date(2025, 1, 6)}))
    assert schedule.phase_at(kst(6, 10, 0)) is CLOSED
    assert schedule.phase_at(kst(7, 10, 0)) is CONTINUOUS


def test_schedule_refuses_times_out_of_order() -> None:
    with pytest.raises(InvariantViolation):
        SessionSchedule(open=time(8, 0))


def test_phase_changes_walk_a_fresh_engine_up_to_the_current_phase() -> None:
    changes = SessionSchedule().phase_changes(CLOSED, "", kst(6, 10, 0))
    assert changes == [PRE_OPEN, CONTINUOUS]


def test_phase_changes_after_the_close_on_the_same_day_are_none() -> None:
    assert SessionSchedule().phase_changes(CLOSED, "2025-01-06", kst(6, 16, 0)) == []


def test_phase_changes_close_yesterday_before_opening_today() -> None:
    changes = SessionSchedule().phase_changes(CONTINUOUS, "2025-01-06", kst(7, 8, 45))
    assert changes == [CLOSING, CLOSED, PRE_OPEN]


def test_phase_changes_within_a_day_step_through_each_phase() -> None:
    assert SessionSchedule().phase_changes(PRE_OPEN, "2025-01-06", kst(6, 15, 25)) == [CONTINUOUS, CLOSING]


def test_timestamps_convert_exactly_both_ways() -> None:
    instant = kst(6, 9, 0, 1)
    assert instant_of(timestamp_ns(instant)) == instant
    assert timestamp_ns(instant) == 1_736_121_601_000_000_000


def test_pre_open_starts_a_trading_day_named_by_its_korean_date() -> None:
    engine = engine_in(CLOSED)
    events = engine.handle(phase(PRE_OPEN))
    (changed,) = of_type(SessionPhaseChanged, events)
    assert (changed.phase, changed.trading_day) == (PRE_OPEN, "2025-01-06")


def test_each_phase_follows_only_the_one_before_it() -> None:
    engine = engine_in(PRE_OPEN)
    assert rejected(engine.handle(phase(CLOSING))) is RejectReason.INVALID_PHASE_TRANSITION
    assert rejected(engine.handle(phase(PRE_OPEN))) is RejectReason.INVALID_PHASE_TRANSITION
    assert engine.phase is PRE_OPEN


def test_next_day_base_price_is_the_previous_close_and_limits_follow_it() -> None:
    engine = engine_in()
    run(engine, [buy(1, 80_000, 1), sell(2, 80_000, 1)])
    for step in (CLOSING, CLOSED, PRE_OPEN):
        engine.handle(phase(step, T0 + 86_400 * 10**9))
    book = engine.books[SAMSUNG]
    assert (book.base_price, book.lower_limit, book.upper_limit) == (80_000, 56_000, 104_000)
    assert engine.trading_day == "2025-01-07"


def test_order_ids_may_be_used_again_on_the_next_trading_day() -> None:
    engine = engine_in()
    engine.handle(buy(1, 71_000, 1))
    for step in (CLOSING, CLOSED, PRE_OPEN):
        engine.handle(phase(step))
    events = engine.handle(buy(1, 71_000, 1))
    assert events[0].KIND == "order_accepted"


def test_instrument_without_trades_keeps_its_base_price_the_next_day() -> None:
    engine = engine_in()
    for step in (CLOSING, CLOSED, PRE_OPEN):
        engine.handle(phase(step))
    assert engine.books[SAMSUNG].base_price == 71_500
