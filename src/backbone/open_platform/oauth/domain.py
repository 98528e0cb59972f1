"""The authorization server's rules, pure: lifetimes, grant types, PKCE, token claims."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from backbone.open_platform.scopes import Scope

AUTHORIZATION_CODE_TTL_S: Final = 60
ACCESS_TOKEN_TTL_S: Final = 600
REFRESH_TOKEN_TTL_S: Final = 90 * 86_400  # and never past the consents that allow the reads
CODE_CHALLENGE_METHOD: Final = "S256"  # the only one accepted: "plain" protects nothing
ACCESS_TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - RFC 9068's typ header, not a secret
SIGNING_ALGORITHM: Final = "ES256"
CLIENT_ASSERTION_TTL_S: Final = 600
TOKEN_BYTES: Final = 32
VERIFIED_TOKENS_CACHED_MAX: Final = 10_000


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """What a verified access token allows: the app, and the member when one authorized it."""

    jti: str
    client_id: str
    app_id: int
    subject: str  # the membership's pairwise subject, or the client id for app-only tokens
    membership_id: int | None
    member_id: int | None
    scopes: frozenset[Scope]
    expires_at: datetime

    @property
    def has_member(self) -> bool:
        return self.member_id is not None
