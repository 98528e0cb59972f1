"""Fault injection: named points where a test makes a stage fail on demand.

A stage calls `hit(point)` where a real failure could strike (a statement, a commit, a journal
write, a listener); nothing happens unless a test armed that point with `arm`. What an armed point
does is the test's choice: raise a database error, an `OSError(ENOSPC)`, an exception from a
listener, or kill the process (`kill_process`) between two steps. A seeded `FaultPlan` draws
faults at random yet reproducibly, in the spirit of TigerBeetle's simulator.

Only code can arm a point: no setting, variable or route does, so a production process has none
armed and `hit` costs one dictionary lookup on an empty dictionary.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

Action = Callable[[], None]


class Point(StrEnum):
    """Every place a fault can be injected, named by the stage and the step."""

    ADMISSION_COMMIT = "admission.commit"  # the admission transaction, before it commits
    VENUE_EXECUTE = "venue.execute"  # after the engine ran the commands, before the journal has them
    JOURNAL_WRITE = "journal.write"  # the journal's write of a group's frame
    BOOKING_COMMIT = "booking.commit"  # the booking transaction, before it commits
    BOOKED = "booked"  # after the booking committed, before the requesters are answered
    LISTENER = "listener"  # a results listener (the quote feed, the price board)
    SETTLEMENT_COMMIT = "settlement.commit"  # the settlement transaction, before it commits
    RECOVERY_COMMIT = "recovery.commit"  # recovery's rejection of undelivered orders, before it commits
    WEBHOOK_DELIVERY = "webhook.delivery"  # one webhook delivery, before it is sent


@dataclass
class _Armed:
    action: Action
    times: int  # how many more hits fire (negative: every hit)
    skip: int  # hits to let pass before the first that fires


_armed: dict[str, list[_Armed]] = {}
_lock = threading.Lock()
fired: dict[str, int] = {}  # hits that fired, per point, since the last `disarm_all`


def hit(point: Point) -> None:
    """A fault point: runs the armed action, if any (usually: raises)."""
    if not _armed:
        return
    action = _take(point)
    if action is not None:
        action()


def _take(point: Point) -> Action | None:
    with _lock:
        queue = _armed.get(point)
        if not queue:
            return None
        armed = queue[0]
        if armed.skip:
            armed.skip -= 1
            return None
        if armed.times > 0:
            armed.times -= 1
            if armed.times == 0:
                queue.pop(0)
                if not queue:
                    del _armed[point]
        fired[point] = fired.get(point, 0) + 1
        return armed.action


def arm(point: Point, action: Action | BaseException, *, times: int = 1, skip: int = 0) -> None:
    """Make the next `times` hits of `point` (after `skip` that pass) run `action` or raise the
    exception given; `times=-1` fires at every hit until disarmed."""
    with _lock:
        _armed.setdefault(point, []).append(_Armed(_as_action(action), times, skip))


def _as_action(action: Action | BaseException) -> Action:
    if isinstance(action, BaseException):
        error = action

        def raise_it() -> None:
            # The same exception each time, its traceback cleared: raising one object again and
            # again would otherwise grow its traceback by the frames of every hit.
            raise error.with_traceback(None)

        return raise_it
    return action


def disarm_all() -> None:
    with _lock:
        _armed.clear()
        fired.clear()


def is_armed(point: Point) -> bool:
    return point in _armed


@contextmanager
def armed(point: Point, action: Action | BaseException, *, times: int = 1, skip: int = 0) -> Iterator[None]:
    """`arm` for the length of a block; everything disarmed after it."""
    arm(point, action, times=times, skip=skip)
    try:
        yield
    finally:
        disarm_all()


def kill_process() -> None:
    """An action: the process dies here at once, as with a power cut (SIGKILL: no clean-up)."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class FaultPlan:
    """Faults drawn from a seed: which point fails, with what, at which of its hits."""

    seed: int
    errors: dict[Point, Callable[[], BaseException]]
    random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)  # noqa: S311 - reproducible test faults, not secrets

    def arm_one(self) -> Point:
        """Arm one of the plan's points to fail once, within its next few hits."""
        point = self.random.choice(sorted(self.errors))
        arm(point, self.errors[point](), skip=self.random.randrange(3))
        return point
