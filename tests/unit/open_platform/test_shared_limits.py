"""The per-app limits are one set of counters per installation: limiters on the same file (two in
this process, or one in another process) enforce one burst and one daily quota between them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from backbone.kit.clock import SimulatedClock
from backbone.open_platform.limits import service
from backbone.open_platform.limits.service import PROBES_MAX, RateLimiter, limits_path
from tests.conftest import MARKET_MORNING

APP = 7_301_234_567_890
OTHER_APP = 7_301_234_567_891


def limiter(tmp_path: Path, clock: SimulatedClock) -> RateLimiter:
    return RateLimiter(clock=clock, path=limits_path(tmp_path))


def test_two_limiters_on_one_file_enforce_one_burst(tmp_path: Path, clock: SimulatedClock) -> None:
    first, second = limiter(tmp_path, clock), limiter(tmp_path, clock)
    allowed = [
        (first if index % 2 else second).take(APP, daily_quota=100, burst_limit=4).allowed
        for index in range(6)
    ]
    assert allowed == [True, True, True, True, False, False]
    refused = first.take(APP, daily_quota=100, burst_limit=4)
    assert (refused.reason, refused.retry_after_s) == ("burst", 1)
    assert second.take(OTHER_APP, daily_quota=100, burst_limit=4).allowed  # its own bucket
    clock.advance(timedelta(milliseconds=500))  # refills at 4 a second: two more
    assert [second.take(APP, daily_quota=100, burst_limit=4).allowed for _ in range(3)] == [True, True, False]
    assert first.used_today(APP) == second.used_today(APP) == 6


def test_the_daily_quota_is_counted_once_for_every_limiter_and_resets_at_midnight(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    first, second = limiter(tmp_path, clock), limiter(tmp_path, clock)
    remaining = [
        (first if index % 2 else second).take(APP, daily_quota=3, burst_limit=100).remaining
        for index in range(3)
    ]
    assert remaining == [2, 1, 0]
    over = first.take(APP, daily_quota=3, burst_limit=100)
    assert (over.allowed, over.reason) == (False, "quota")
    clock.advance(timedelta(days=1))
    assert second.take(APP, daily_quota=3, burst_limit=100).remaining == 2
    assert first.used_today(APP) == 1


def test_another_process_shares_the_burst(tmp_path: Path, clock: SimulatedClock) -> None:
    here = limiter(tmp_path, clock)
    assert [here.take(APP, daily_quota=100, burst_limit=5).allowed for _ in range(3)] == [True] * 3
    script = f"""
import json
from pathlib import Path
from backbone.kit.clock import SimulatedClock
from backbone.open_platform.limits.service import RateLimiter
from datetime import datetime
limiter = RateLimiter(clock=SimulatedClock(datetime.fromisoformat({clock.now().isoformat()!r})),
                      path=Path({str(limits_path(tmp_path))!r}))
print(json.dumps([limiter.take({APP}, daily_quota=100, burst_limit=5).allowed for _ in range(4)]))
"""
    answered = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(answered.stdout) == [True, True, False, False]  # 5 in all, not 5 per process
    assert not here.take(APP, daily_quota=100, burst_limit=5).allowed
    assert here.used_today(APP) == 5


def test_apps_keep_their_own_counters_and_a_full_table_forgets_the_app_used_longest_ago(
    tmp_path: Path, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "SLOTS", PROBES_MAX)  # a table as small as one probe: all collide
    shared = limiter(tmp_path, clock)
    apps = [APP + index for index in range(PROBES_MAX + 1)]
    for app in apps[:PROBES_MAX]:
        assert shared.take(app, daily_quota=10, burst_limit=1).allowed
        clock.advance(timedelta(milliseconds=1))
    assert [shared.used_today(app) for app in apps[:PROBES_MAX]] == [1] * PROBES_MAX
    assert not shared.take(apps[1], daily_quota=10, burst_limit=1).allowed  # its bucket is empty
    assert shared.take(apps[-1], daily_quota=10, burst_limit=1).allowed  # takes the oldest's slot
    assert shared.used_today(apps[0]) == 0  # apps[0] was used longest ago: forgotten (forgiven)
    assert shared.used_today(apps[2]) == 1
    assert shared.used_today(apps[-1]) == 1


def test_a_fresh_file_is_made_once_and_kept_across_limiters(tmp_path: Path) -> None:
    clock = SimulatedClock(MARKET_MORNING)
    limiter(tmp_path, clock).take(APP, daily_quota=10, burst_limit=10)
    assert limiter(tmp_path, clock).used_today(APP) == 1
