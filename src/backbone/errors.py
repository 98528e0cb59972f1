"""Typed business errors. Each carries its HTTP status and a stable code; nothing here imports a
web framework, so every layer may raise them. `backbone.problems` renders them as RFC 9457
problem+json; the CLI prints them as a readable line.

A code never changes once published: clients branch on it. Titles are for people.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BackboneError(Exception):
    """An expected failure: the request is refused and nothing was changed."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "backbone.error"
    title: ClassVar[str] = "The request was refused"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


class NotFound(BackboneError):
    status_code = 404
    code = "backbone.not_found"
    title = "Not found"


class Conflict(BackboneError):
    status_code = 409
    code = "backbone.conflict"
    title = "Conflict with the current state"


class InvalidInput(BackboneError):
    status_code = 422
    code = "backbone.invalid_input"
    title = "The input is not valid"


class Unauthorized(BackboneError):
    status_code = 401
    code = "backbone.unauthorized"
    title = "Authentication is required"


class Forbidden(BackboneError):
    status_code = 403
    code = "backbone.forbidden"
    title = "Not allowed"


class AmountOutOfRange(InvalidInput, ValueError):
    """An amount, quantity or price outside what Backbone accepts (see kit.money's limits)."""

    code = "backbone.amount_out_of_range"
    title = "The amount is out of range"


class NotAWholeNumber(InvalidInput, ValueError):
    """Won, shares and prices are whole numbers: '1500.5' won is refused, not rounded."""

    code = "backbone.not_a_whole_number"
    title = "A whole number is required"


class InvalidCursor(InvalidInput):
    code = "backbone.invalid_cursor"
    title = "The page cursor is not valid"


class PageSizeOutOfRange(InvalidInput):
    code = "backbone.page_size_out_of_range"
    title = "The page size is out of range"


class IdempotencyKeyMissing(InvalidInput):
    code = "backbone.idempotency_key_missing"
    title = "An Idempotency-Key header is required"


def all_error_types() -> list[type[BackboneError]]:
    """Every error class defined so far, for the published catalogue of problem types."""
    found: list[type[BackboneError]] = []
    pending: list[type[BackboneError]] = [BackboneError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.code)
