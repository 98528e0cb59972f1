"""Step-up: the one place where an operation's required assurance is enforced.

Every operation has its rules in `domain.POLICY`; `require` reads the session's proofs (carried in
the `CurrentMember`) and either returns a `Clearance` or raises `StepUpRequired` naming the factors
that would satisfy it. A clearance may carry a waiting period (`not_before`): the caller must not
carry the operation out before then (a large withdrawal from a new device).
"""

from __future__ import annotations

from backbone.identity.domain import Clearance, CurrentMember, Operation, decide
from backbone.kit.clock import Clock
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")


class StepUp:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    def require(
        self, current: CurrentMember, operation: Operation, *, amount_won: int | None = None
    ) -> Clearance:
        try:
            clearance = decide(
                operation,
                current.assurance,
                now=self._clock.now(),
                device_is_new=current.device_is_new,
                amount_won=amount_won,
            )
        except Exception:
            log.info(
                "identity.step_up_required",
                member_id=current.member_id,
                session_id=current.session_id,
                operation=operation.value,
            )
            raise
        return clearance
