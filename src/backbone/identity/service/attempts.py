"""The log of authentication attempts, successful and failed, by factor."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backbone.identity import repository
from backbone.identity.domain import Factor
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")


class AttemptLog:
    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    def record(
        self,
        session: Session,
        *,
        member_id: int | None,
        factor: Factor,
        reason: str,
        reference: str,
        succeeded: bool = False,
    ) -> None:
        repository.insert_attempt(
            session,
            attempt_id=self._ids.next(),
            member_id=member_id,
            factor=factor,
            succeeded=succeeded,
            reason=reason,
            reference=reference,
            at=self._clock.now(),
        )
        if not succeeded:
            log.info("identity.attempt_failed", member_id=member_id, factor=factor.value, reason=reason)
