"""Random secrets and the only forms in which Backbone keeps them.

Tokens (sessions, devices, flows) are 256 random bits, so a plain SHA-256 is enough to store them:
nobody can search that space. Short codes (six SMS digits, two ARS digits) can be searched, so they
are kept as an HMAC under the installation's secret key, scoped to the one verification or call
they belong to, and compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_code(length: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


def code_hash(key: bytes, scope: str, code: str) -> str:
    return hmac.new(key, f"{scope}|{code}".encode(), hashlib.sha256).hexdigest()


def same(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())


def csrf_token(key: bytes, session_token: str) -> str:
    """Derived from the session token, so it needs no storage and dies with the session."""
    digest = hmac.new(key, f"csrf|{session_token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def subkey(key: bytes, purpose: str) -> bytes:
    """A key for one purpose, so that no two uses of the secret key ever share one."""
    return hmac.new(key, f"backbone|{purpose}".encode(), hashlib.sha256).digest()
