from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backbone.errors import InvalidCursor, PageSizeOutOfRange
from backbone.kit.check import InvariantViolation, invariant, present
from backbone.kit.clock import SEOUL, SimulatedClock, seoul_date, seoul_midnight
from backbone.kit.ids import ID_MAX, IdGenerator
from backbone.kit.pagination import PAGE_SIZE_MAX, decode_cursor, encode_cursor, page_size


def test_invariant_raises_even_under_optimisation() -> None:
    with pytest.raises(InvariantViolation, match="legs"):
        invariant(False, "legs must net to zero")
    with pytest.raises(InvariantViolation):
        present(None, "missing")
    assert present(3, "missing") == 3


def test_simulated_clock_only_moves_forward() -> None:
    clock = SimulatedClock(datetime(2026, 11, 23, 9, 0, tzinfo=SEOUL))
    clock.advance(timedelta(minutes=5))
    assert clock.now() == datetime(2026, 11, 23, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2026, 11, 22, tzinfo=UTC))


def test_seoul_day_boundaries() -> None:
    late_utc = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 01:00 on the 24th in Seoul
    assert seoul_date(late_utc).day == 24
    assert seoul_midnight(seoul_date(late_utc)) == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_ids_increase_and_stay_unique_when_the_clock_stands_still() -> None:
    generator = IdGenerator(SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)), node=3)
    ids = [generator.next() for _ in range(2_000)]  # far more than 256 in one millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(0 < value <= ID_MAX for value in ids)


def test_ids_from_different_nodes_never_collide() -> None:
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    first = {IdGenerator(clock, node=0).next() for _ in range(1)}
    second = {IdGenerator(clock, node=1).next() for _ in range(1)}
    assert first.isdisjoint(second)


def test_cursor_round_trip_and_tampering() -> None:
    cursor = encode_cursor([123, "KRW"])
    assert decode_cursor(cursor, types=(int, str)) == (123, "KRW")
    for bad in ("not-base64!!", encode_cursor(["x", "KRW"]), encode_cursor([1]), "A" * 600):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad, types=(int, str))


def test_page_size_limits() -> None:
    assert page_size(None) == 50
    for bad in (0, -1, PAGE_SIZE_MAX + 1):
        with pytest.raises(PageSizeOutOfRange):
            page_size(bad)
