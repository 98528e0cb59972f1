"""Session phases of the KRX equity market and the transitions between them.

The engine never reads a clock: a phase changes only when a `ChangeSessionPhase` command arrives
(from the schedule in `schedule.py`, through the sequencer and the journal), so replay is exact.

    closed ──▶ pre-open call auction ──▶ continuous ──▶ closing call auction ──▶ closed
    (08:30 KST)          (09:00, opening uncross)   (15:20)          (15:30, closing uncross,
                                                                      day orders expire)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class SessionPhase(StrEnum):
    CLOSED = "closed"
    PRE_OPEN_AUCTION = "pre_open_auction"  # 장 시작 동시호가, 08:30-09:00
    CONTINUOUS = "continuous"  # 접속매매, 09:00-15:20
    CLOSING_AUCTION = "closing_auction"  # 장 마감 동시호가, 15:20-15:30


class PhaseEffect(StrEnum):
    """What the engine does when it enters the new phase."""

    START_DAY = "start_day"  # a new trading day: forget yesterday's orders, reset the base price
    UNCROSS = "uncross"  # single-price auction, then continuous trading
    COLLECT = "collect"  # stop matching; collect orders for the closing auction
    UNCROSS_AND_EXPIRE = "uncross_and_expire"  # closing auction, then every open order expires


PHASE_TRANSITIONS: Final[dict[tuple[SessionPhase, SessionPhase], PhaseEffect]] = {
    (SessionPhase.CLOSED, SessionPhase.PRE_OPEN_AUCTION): PhaseEffect.START_DAY,
    (SessionPhase.PRE_OPEN_AUCTION, SessionPhase.CONTINUOUS): PhaseEffect.UNCROSS,
    (SessionPhase.CONTINUOUS, SessionPhase.CLOSING_AUCTION): PhaseEffect.COLLECT,
    (SessionPhase.CLOSING_AUCTION, SessionPhase.CLOSED): PhaseEffect.UNCROSS_AND_EXPIRE,
}

# The order in which a day passes through the phases; the schedule walks it to catch up.
DAY_SEQUENCE: Final = (
    SessionPhase.CLOSED,
    SessionPhase.PRE_OPEN_AUCTION,
    SessionPhase.CONTINUOUS,
    SessionPhase.CLOSING_AUCTION,
)
CALL_PHASES: Final = frozenset({SessionPhase.PRE_OPEN_AUCTION, SessionPhase.CLOSING_AUCTION})
