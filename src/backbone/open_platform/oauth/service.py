"""The authorization server for the composition root, and the check every open API call makes of
its bearer token: signature, issuer, audience and expiry (by the injected clock), then, in the
database, that the token was not revoked, the app is still allowed, and the membership still stands."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.open_platform.companies.domain import App, AppStatus
from backbone.open_platform.companies.service import Companies
from backbone.open_platform.errors import TokenRejected
from backbone.open_platform.journey.domain import Membership
from backbone.open_platform.journey.service import Journey
from backbone.open_platform.oauth import repository
from backbone.open_platform.oauth.domain import VERIFIED_TOKENS_CACHED_MAX, AccessGrant
from backbone.open_platform.oauth.keys import SigningKeys
from backbone.open_platform.oauth.server import PlatformAuthorizationServer
from backbone.open_platform.reads import Kept
from backbone.open_platform.scopes import Scope

TOKEN_LENGTH_MAX = 4_096
BEARER_CHALLENGE = 'Bearer realm="open-api"'


@dataclass(frozen=True, slots=True)
class Caller:
    grant: AccessGrant
    app: App
    membership: Membership | None  # None for an app-level (client credentials) token


class OAuth:
    def __init__(
        self,
        *,
        issuer: str,
        clock: Clock,
        ids: IdGenerator,
        keys: SigningKeys,
        companies: Companies,
        journey: Journey,
    ) -> None:
        self.issuer = issuer
        self.keys = keys
        # each token's app, membership and revocation, kept while the platform's revision stands
        self._holders: Kept[tuple[str, str, str], tuple[App, Membership | None, bool] | None] = Kept()
        self._clock = clock
        self._companies = companies
        self.server = PlatformAuthorizationServer(
            issuer=issuer, clock=clock, ids=ids, keys=keys, companies=companies, journey=journey
        )
        # Verifying an ES256 signature costs more than the rest of a read; a token verified once
        # keeps its claims here (bounded, least recently used first out). Revocation is still
        # checked in the database on every call.
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def claims(self, token: str) -> dict[str, Any]:
        with self._lock:
            cached = self._verified.get(token)
            if cached is not None:
                self._verified.move_to_end(token)
                return cached
        claims = self.keys.verify(token) if 0 < len(token) <= TOKEN_LENGTH_MAX else None
        if claims is None:
            raise _rejected("the access token is not one this server signed")
        with self._lock:
            self._verified[token] = claims
            while len(self._verified) > VERIFIED_TOKENS_CACHED_MAX:
                self._verified.popitem(last=False)
        return claims

    def authenticate(self, session: Session, token: str) -> AccessGrant:
        return self.caller(session, token).grant

    def caller(self, session: Session, token: str) -> Caller:
        """The token's grant with the app and membership it was checked against (so a call needs
        not look them up again)."""
        claims = self.claims(token)
        now = self._clock.now()
        if claims.get("iss") != self.issuer or claims.get("aud") != self.server.audience:
            raise _rejected("the access token was issued for another server")
        expiry = claims.get("exp")
        if not isinstance(expiry, int) or now.timestamp() >= expiry:
            raise _rejected("the access token has expired")
        jti = str(claims.get("jti", ""))
        subject = str(claims.get("sub", ""))
        client_id = str(claims.get("client_id", ""))
        held = self._holders.get(
            session,
            (jti, client_id, subject),
            lambda: repository.token_holder(session, jti=jti, client_id=client_id, subject=subject),
        )
        if held is not None and held[2]:
            raise _rejected("the access token was revoked")
        if held is None or held[0].status not in (
            AppStatus.SANDBOX,
            AppStatus.PENDING_APPROVAL,
            AppStatus.PRODUCTION,
        ):
            raise _rejected("the app is not allowed any more")
        app, membership, _ = held
        scopes = frozenset(
            Scope(value)
            for value in str(claims.get("scope", "")).split()
            if value in Scope._value2member_map_
        )
        membership_id = member_id = None
        if subject != app.client_id:
            if membership is None or not membership.is_active or not app.in_production:
                raise _rejected("the member no longer uses this app")
            membership_id, member_id = membership.id, membership.member_id
        grant = AccessGrant(
            jti=jti,
            client_id=app.client_id,
            app_id=app.id,
            subject=subject,
            membership_id=membership_id,
            member_id=member_id,
            scopes=scopes,
            expires_at=datetime.fromtimestamp(expiry, tz=UTC),
        )
        return Caller(grant=grant, app=app, membership=membership)

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth/authorize",
            "token_endpoint": f"{self.issuer}/oauth/token",
            "revocation_endpoint": f"{self.issuer}/oauth/revoke",
            "introspection_endpoint": f"{self.issuer}/oauth/introspect",
            "jwks_uri": f"{self.issuer}/oauth/jwks",
            "scopes_supported": [scope.value for scope in Scope],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            "authorization_response_iss_parameter_supported": True,
            "access_token_signing_alg_values_supported": ["ES256"],
        }


def _rejected(detail: str) -> TokenRejected:
    return TokenRejected(detail, headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'})
