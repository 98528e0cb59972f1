"""Always-on invariant checks.

`assert` disappears under `python -O`; these do not. An invariant that fails is a programmer error
or corruption, never a business outcome, so it raises and is never caught by business code.
"""

from __future__ import annotations

from typing import NoReturn, TypeVar

T = TypeVar("T")


class InvariantViolation(RuntimeError):
    """A rule that must always hold did not. Stop: something is broken, not merely refused."""


def invariant(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)


def unreachable(message: str) -> NoReturn:
    raise InvariantViolation(message)


def present(value: T | None, message: str) -> T:
    """The value, which must not be None here: returns it narrowed, or raises InvariantViolation."""
    if value is None:
        raise InvariantViolation(message)
    return value
