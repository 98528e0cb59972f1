"""The authorization server's signing key: an ECDSA P-256 key for ES256 JWT access tokens
(RFC 9068), generated once and kept beside the installation's secret key (under var/, readable by
its owner only), so tokens survive a restart; its public half is published as a JWKS."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from backbone.open_platform.oauth.domain import ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM

KEY_FILE = "oauth-signing-key.pem"


class SigningKeys:
    def __init__(self, key: ECKey) -> None:
        self._key = key
        self.kid = key.thumbprint()
        self._public = ECKey.import_key(key.as_dict(private=False))
        self._header = {"alg": SIGNING_ALGORITHM, "typ": ACCESS_TOKEN_TYPE, "kid": self.kid}

    @classmethod
    def generated_once(cls, directory: Path) -> SigningKeys:
        path = directory / KEY_FILE
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            pem = ECKey.generate_key("P-256").as_pem(private=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
        return cls(ECKey.import_key(path.read_bytes()))

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(self._header, claims, self._key, algorithms=[SIGNING_ALGORITHM])

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this server signed, or None (bad signature, form or type).
        Expiry and the rest are the caller's checks, against the injected clock."""
        try:
            decoded = jwt.decode(token, self._public, algorithms=[SIGNING_ALGORITHM])
        except (JoseError, ValueError, TypeError):
            return None
        if decoded.header.get("typ") != ACCESS_TOKEN_TYPE or decoded.header.get("kid") != self.kid:
            return None
        return dict(decoded.claims)

    def jwks(self) -> dict[str, Any]:
        public = self._public.as_dict(private=False)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": SIGNING_ALGORITHM}]}
