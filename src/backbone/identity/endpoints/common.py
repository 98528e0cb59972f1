"""What the identity endpoints share: the prefix, the container's members, base64 and cookies."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, cast

from fastapi import Depends, Request

from backbone.dependencies import service
from backbone.identity.dependencies import API_PATH, FLOW_COOKIE, IdentityDep
from backbone.identity.errors import UnknownVerification
from backbone.kit.clock import Clock
from backbone.kit.db import Database

API_PREFIX = API_PATH

__all__ = ["API_PREFIX", "ClockDep", "DatabaseDep", "IdentityDep", "decode_base64", "flow_token"]


def _database(request: Request) -> Database:
    return cast(Database, service(request, "database"))


def _clock(request: Request) -> Clock:
    return cast(Clock, service(request, "clock"))


DatabaseDep = Annotated[Database, Depends(_database)]
ClockDep = Annotated[Clock, Depends(_clock)]


def flow_token(request: Request) -> str:
    token = request.cookies.get(FLOW_COOKIE)
    if not token:
        raise UnknownVerification("no verification is in progress in this browser; start again")
    return token


def decode_base64(text: str) -> bytes:
    """The bytes of a base64 field, or b"" when it is not base64: an undecodable blob is then
    refused by the service as malformed, and counted like any other bad attempt."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b""
