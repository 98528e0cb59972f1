"""The webhook worker: in `backbone serve` a thread runs it every few seconds; `backbone platform
webhooks --once` runs it once. Each run marks lapsed consents expired (queueing their
`consent.expired` events) and tries every delivery that is due."""

from __future__ import annotations

import threading

from backbone.kit.db import Database
from backbone.kit.logs import get_logger
from backbone.open_platform.services import OpenPlatform

log = get_logger("backbone.open_platform.webhooks")
WORKER_INTERVAL_MS = 2_000


def run_once(platform: OpenPlatform, database: Database) -> tuple[int, int]:
    """(consents marked expired, deliveries attempted)."""
    with database.transaction() as session:
        expired = platform.journey.expire_lapsed(session)
    attempted = platform.webhooks.deliver_due(database)
    return expired, attempted


class WebhookWorker:
    def __init__(
        self, platform: OpenPlatform, database: Database, *, interval_ms: int = WORKER_INTERVAL_MS
    ) -> None:
        self._platform = platform
        self._database = database
        self._interval_s = interval_ms / 1000
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="platform-webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                run_once(self._platform, self._database)
            except Exception as error:  # the next run tries again; nothing is lost (rows stay pending)
                log.error("platform.webhook_worker_failed", exc_info=error)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
