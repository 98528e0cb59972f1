"""The per-app limiter the open API consults on every call. In memory, one per server process:
limits protect the platform and the firms, and a restart that forgives a few requests of a day's
quota loses nothing an investor owns (see docs/open_platform.md)."""

from __future__ import annotations

import threading
from datetime import timedelta

from backbone.kit.clock import Clock, seoul_date, seoul_midnight
from backbone.open_platform.limits.domain import NANOSECONDS_PER_SECOND, DailyQuota, Decision, TokenBucket

APPS_TRACKED_MAX = 100_000


class RateLimiter:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, TokenBucket] = {}
        self._quotas: dict[int, DailyQuota] = {}

    def used_today(self, app_id: int) -> int:
        """Calls counted against the app's quota today, in this process (for the business portal)."""
        today = seoul_date(self._clock.now())
        with self._lock:
            quota = self._quotas.get(app_id)
            return 0 if quota is None or quota.day != today else quota.used

    def take(self, app_id: int, *, daily_quota: int, burst_limit: int) -> Decision:
        now = self._clock.now()
        now_ns = int(now.timestamp() * NANOSECONDS_PER_SECOND)
        today = seoul_date(now)
        reset_s = max(1, int((seoul_midnight(today + timedelta(days=1)) - now).total_seconds()))
        with self._lock:
            if len(self._buckets) >= APPS_TRACKED_MAX and app_id not in self._buckets:
                self._buckets.clear()  # a bound on memory; forgetting buckets only forgives bursts
            bucket = self._buckets.get(app_id)
            if bucket is None or bucket.capacity != burst_limit:
                bucket = self._buckets[app_id] = TokenBucket.full(burst_limit, now_ns)
            quota = self._quotas.get(app_id)
            if quota is None:
                quota = self._quotas[app_id] = DailyQuota(daily_quota, today)
            quota.limit = daily_quota
            if quota.day == today and quota.used >= quota.limit:
                return Decision(False, quota.limit, 0, reset_s, reset_s, "quota")
            wait_ns = bucket.take(now_ns)
            if wait_ns:
                retry = max(1, -(-wait_ns // NANOSECONDS_PER_SECOND))
                return Decision(False, quota.limit, quota.remaining, reset_s, retry, "burst")
            quota.take(today)
            return Decision(True, quota.limit, quota.remaining, reset_s, 0, "")
