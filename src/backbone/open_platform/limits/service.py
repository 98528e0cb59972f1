"""The per-app limiter the open API consults on every call, shared by every process of the
installation (`backbone serve` and the open API's workers, `backbone serve-open-api`): with N
processes counting apart, an app would get N times its burst and its quota.

The counters live in a memory-mapped file under var/ (`rate-limits`): a fixed table of slots, one
per app, found by hashing the app id and probing the next few slots. Each `take` loads the app's
slot into the pure `TokenBucket` and `DailyQuota` (limits/domain.py), decides, and stores them back,
under an exclusive `flock` on the file (between processes) and a thread lock (between the threads
of this process, which one flock does not separate). A few microseconds; see docs/performance.md.

Limits protect the platform and the firms: when the probed slots are all taken by other apps, the
one used longest ago is given up (forgetting forgives that app a burst and part of a day's
quota), and a lost file forgives the same; neither loses anything an investor owns.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from backbone.kit.clock import Clock, seoul_date, seoul_midnight
from backbone.open_platform.limits.domain import NANOSECONDS_PER_SECOND, DailyQuota, Decision, TokenBucket

FILE_NAME: Final = "rate-limits"
MAGIC: Final = b"BBLIMIT1"
HEADER = struct.Struct("<8sII")  # magic, slot count, slot bytes
# app id, bucket capacity, tokens × 10⁹, bucket updated (ns), quota limit, quota day (ordinal), used
SLOT = struct.Struct("<qqqqqqq")
SLOT_BYTES: Final = 64  # a slot per cache line
HEADER_BYTES: Final = 64
SLOTS: Final = 65_536  # 4 MiB, allocated by the file system only where apps are counted
PROBES_MAX: Final = 16
HASH_MULTIPLIER: Final = 0x9E3779B97F4A7C15  # Fibonacci hashing: ids that differ in low bits spread


def limits_path(var_directory: Path) -> Path:
    return var_directory / FILE_NAME


class RateLimiter:
    def __init__(self, *, clock: Clock, path: Path) -> None:
        self._clock = clock
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._map = self._mapped()
        self._today = (date.min, datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC))

    def used_today(self, app_id: int) -> int:
        """Calls counted against the app's quota today, by every process (for the business portal)."""
        today, _ = self._day(self._clock.now())
        with self._locked():
            offset, _ = self._find(app_id)
            if offset is None:
                return 0
            _, _, _, _, _, day, used = SLOT.unpack_from(self._map, offset)
            return used if day == today.toordinal() else 0

    def take(self, app_id: int, *, daily_quota: int, burst_limit: int) -> Decision:
        now = self._clock.now()
        now_ns = int(now.timestamp() * NANOSECONDS_PER_SECOND)
        today, midnight = self._day(now)
        reset_s = max(1, int((midnight - now).total_seconds()))
        with self._locked():
            found, spare = self._find(app_id)
            offset = spare if found is None else found
            bucket, quota = self._load(offset, app_id, now_ns, today, burst_limit, daily_quota)
            decision = _decide(bucket, quota, now_ns, today, reset_s)
            SLOT.pack_into(
                self._map,
                offset,
                app_id,
                bucket.capacity,
                bucket.tokens_nano,
                bucket.updated_ns,
                quota.limit,
                quota.day.toordinal(),
                quota.used,
            )
            return decision

    def _day(self, now: datetime) -> tuple[date, datetime]:
        """Today in Seoul and the midnight that ends it, worked out once a day: converting time
        zones on every call was a third of a `take`."""
        today, start, end = self._today
        if not start <= now < end:
            today = seoul_date(now)
            start, end = seoul_midnight(today), seoul_midnight(today + timedelta(days=1))
            self._today = (today, start, end)
        return today, end

    def close(self) -> None:
        with self._lock:
            self._map.close()
            os.close(self._descriptor)

    # --- the file -------------------------------------------------------------------------------

    def _mapped(self) -> mmap.mmap:
        """The table, made on first use under the lock (two processes may start at once)."""
        with self._lock:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
            try:
                size = HEADER_BYTES + SLOTS * SLOT_BYTES
                if os.fstat(self._descriptor).st_size < size:
                    os.ftruncate(self._descriptor, size)
                    os.pwrite(self._descriptor, HEADER.pack(MAGIC, SLOTS, SLOT_BYTES), 0)
                table = mmap.mmap(self._descriptor, size)
            finally:
                fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        if HEADER.unpack_from(table, 0) != (MAGIC, SLOTS, SLOT_BYTES):
            table.close()
            raise RuntimeError(f"{self.path} is not a rate-limit table of this version: remove it")
        return table

    def _locked(self) -> _FileLock:
        return _FileLock(self._lock, self._descriptor)

    def _find(self, app_id: int) -> tuple[int | None, int]:
        """The app's slot if it has one, and the slot it would take: the first free one probed,
        else the one probed that was used longest ago."""
        start = ((app_id * HASH_MULTIPLIER) & 0xFFFF_FFFF_FFFF_FFFF) >> 48  # 16 bits: SLOTS = 2¹⁶
        table = self._map
        spare = HEADER_BYTES + start * SLOT_BYTES
        spare_updated_ns: int | None = None
        for probe in range(PROBES_MAX):
            offset = HEADER_BYTES + ((start + probe) % SLOTS) * SLOT_BYTES
            owner, _, _, updated_ns, *_ = SLOT.unpack_from(table, offset)
            if owner == app_id:
                return offset, offset
            if owner == 0:
                updated_ns = -1  # free: before any slot in use
            if spare_updated_ns is None or updated_ns < spare_updated_ns:
                spare, spare_updated_ns = offset, updated_ns
        return None, spare

    def _load(
        self, offset: int, app_id: int, now_ns: int, today: date, burst_limit: int, daily_quota: int
    ) -> tuple[TokenBucket, DailyQuota]:
        owner, capacity, tokens_nano, updated_ns, _, day, used = SLOT.unpack_from(self._map, offset)
        if owner != app_id or capacity != burst_limit:
            bucket = TokenBucket.full(burst_limit, now_ns)
        else:
            bucket = TokenBucket(capacity, tokens_nano, updated_ns)
        if owner != app_id:
            quota = DailyQuota(daily_quota, today)
        else:
            quota = DailyQuota(daily_quota, date.fromordinal(day), used)
        return bucket, quota


def _decide(bucket: TokenBucket, quota: DailyQuota, now_ns: int, today: date, reset_s: int) -> Decision:
    if quota.day == today and quota.used >= quota.limit:
        return Decision(False, quota.limit, 0, reset_s, reset_s, "quota")
    wait_ns = bucket.take(now_ns)
    if wait_ns:
        retry = max(1, -(-wait_ns // NANOSECONDS_PER_SECOND))
        return Decision(False, quota.limit, quota.remaining, reset_s, retry, "burst")
    quota.take(today)
    return Decision(True, quota.limit, quota.remaining, reset_s, 0, "")


class _FileLock:
    """This process's threads, then the other processes: in that order, so a thread never waits
    for the file while holding nothing another thread of its own could release."""

    __slots__ = ("_descriptor", "_lock")

    def __init__(self, lock: threading.Lock, descriptor: int) -> None:
        self._lock = lock
        self._descriptor = descriptor

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *_: object) -> None:
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        finally:
            self._lock.release()
