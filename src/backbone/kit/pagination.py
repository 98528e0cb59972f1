"""Keyset pagination with opaque cursors.

A cursor is the sort key of the last row a client saw, encoded so clients treat it as opaque.
Tampering with one can only move the position within the caller's own, already-filtered rows,
so it needs validation, not secrecy.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from backbone.errors import InvalidCursor, PageSizeOutOfRange

T = TypeVar("T")
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 500
CURSOR_LENGTH_MAX = 512
CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(key: Sequence[str | int]) -> str:
    payload = json.dumps([CURSOR_VERSION, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, *, types: Sequence[type]) -> tuple[str | int, ...]:
    """Decode a cursor whose key has exactly the given element types, or raise InvalidCursor."""
    if len(cursor) > CURSOR_LENGTH_MAX:
        raise InvalidCursor("the cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursor("the cursor is not one this server issued") from error
    if version != CURSOR_VERSION or not isinstance(key, list) or len(key) != len(types):
        raise InvalidCursor("the cursor is not one this server issued")
    for value, expected in zip(key, types, strict=True):
        if type(value) is not expected:
            raise InvalidCursor("the cursor is not one this server issued")
    return tuple(key)


def page_size(requested: int | None) -> int:
    if requested is None:
        return PAGE_SIZE_DEFAULT
    if not 1 <= requested <= PAGE_SIZE_MAX:
        raise PageSizeOutOfRange(f"a page holds between 1 and {PAGE_SIZE_MAX} items")
    return requested
