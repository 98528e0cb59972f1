"""The OAuth 2.0 authorization server, built on Authlib's framework-agnostic server.

Authlib does the protocol (parameter checks, client authentication, PKCE, grant logic, error
shapes); this module gives it Backbone's storage and rules:

- authorization code with PKCE, S256 only and required of every client;
- `iss` in every authorization response (RFC 9207, Authlib's IssuerParameter);
- refresh tokens, rotated on use, that never outlive the consents behind them;
- client credentials for app-level calls (market data only);
- revocation (RFC 7009) and introspection (RFC 7662);
- JWT access tokens (RFC 9068, ES256), signed with the key of `keys.py`, timed by the injected clock;
- client authentication by client_secret_basic, client_secret_post or private_key_jwt (RFC 7523).

Authlib is synchronous; the endpoints run it in a worker thread inside one database transaction,
which `scope()` makes available to the callbacks below.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749 import AuthorizationServer as AuthlibServer
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from backbone.kit.check import present
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.open_platform.companies.domain import App, ClientAuthMethod
from backbone.open_platform.companies.service import Companies, same_secret
from backbone.open_platform.journey import repository as journey_repository
from backbone.open_platform.journey.domain import Membership
from backbone.open_platform.journey.service import Journey
from backbone.open_platform.oauth import repository
from backbone.open_platform.oauth.domain import (
    ACCESS_TOKEN_TTL_S,
    AUTHORIZATION_CODE_TTL_S,
    CLIENT_ASSERTION_TTL_S,
    CODE_CHALLENGE_METHOD,
    REFRESH_TOKEN_TTL_S,
    TOKEN_BYTES,
)
from backbone.open_platform.oauth.keys import SigningKeys
from backbone.open_platform.scopes import MEMBER_SCOPES, Scope, format_scopes

AUTH_METHODS = [method.value for method in ClientAuthMethod]
GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Scoped:
    session: Session
    extras: dict[str, Any] = field(default_factory=dict)


_CURRENT: ContextVar[Scoped | None] = ContextVar("oauth_scope", default=None)


def current() -> Scoped:
    return present(_CURRENT.get(), "an OAuth callback runs only inside `scope()`")


@contextmanager
def scope(session: Session) -> Iterator[Scoped]:
    scoped = Scoped(session)
    reset = _CURRENT.set(scoped)
    try:
        yield scoped
    finally:
        _CURRENT.reset(reset)


# --- requests and responses ---------------------------------------------------------------------


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, data: dict[str, str], datalist: dict[str, list[str]]) -> None:
        self._data = data
        self._datalist = datalist

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class PlatformRequest(OAuth2Request):  # type: ignore[misc]
    """An HTTP request as Authlib reads it: query arguments and form fields already parsed."""

    def __init__(
        self,
        *,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        args: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = dict(args)
        self._form = dict(form)
        merged: dict[str, list[str]] = {}
        for key, value in [*args, *form]:
            merged.setdefault(key, []).append(value)
        self.payload = FormPayload({**self._args, **self._form}, merged)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class OAuthResponse:
    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "location":
                return value
        return None

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(name, item) for name, item in self.headers if name.lower() != "location"]
        self.headers.append(("Location", value))


# --- models Authlib reads -----------------------------------------------------------------------


class OAuthClient(ClientMixin):  # type: ignore[misc]
    def __init__(self, app: App) -> None:
        self.app = app

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> str:
        return self.app.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str | None:
        allowed = {value.value for value in self.app.scopes}
        if not scope:
            return " ".join(sorted(allowed))
        requested = set(scope.split())
        if not requested <= allowed:
            return None
        return " ".join(sorted(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.app.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return same_secret(client_secret, self.app.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.app.token_endpoint_auth_method.value

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return True
        return grant_type in GRANT_TYPES and self.app.in_production


class StoredCode(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, code: repository.AuthorizationCode) -> None:
        self.code = code

    def get_redirect_uri(self) -> str:
        return self.code.redirect_uri

    def get_scope(self) -> str:
        return self.code.scope


class StoredRefreshToken(TokenMixin):  # type: ignore[misc]
    def __init__(self, token: repository.RefreshToken, client_id: str, now: datetime) -> None:
        self.token = token
        self.client_id = client_id
        self.now = now

    def check_client(self, client: OAuthClient) -> bool:
        return client.app.id == self.token.app_id

    def get_scope(self) -> str:
        return self.token.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.token.expires_at - self.now).total_seconds()))

    def is_expired(self) -> bool:
        return self.now >= self.token.expires_at

    def is_revoked(self) -> bool:
        return self.token.revoked_at is not None


class StoredAccessToken(TokenMixin):  # type: ignore[misc]
    def __init__(self, claims: dict[str, Any], app_id: int, revoked: bool, now: datetime) -> None:
        self.claims = claims
        self.app_id = app_id
        self.revoked = revoked
        self.now = now

    def check_client(self, client: OAuthClient) -> bool:
        return client.app.id == self.app_id

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def get_expires_in(self) -> int:
        return max(0, int(self.claims["exp"] - self.now.timestamp()))

    def is_expired(self) -> bool:
        return bool(self.now.timestamp() >= float(self.claims["exp"]))

    def is_revoked(self) -> bool:
        return self.revoked


# --- the server ---------------------------------------------------------------------------------


class PlatformAuthorizationServer(AuthlibServer):  # type: ignore[misc]
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
        super().__init__(scopes_supported=[scope.value for scope in Scope])
        self.issuer = issuer
        self.audience = f"{issuer}/open/v1"
        self.clock = clock
        self.ids = ids
        self.keys = keys
        self.companies = companies
        self.journey = journey
        self.register_token_generator("default", self.generate_tokens)
        self.register_grant(CodeGrant, [S256Challenge(required=True)])
        self.register_grant(RefreshGrant)
        self.register_grant(AppCredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_client_auth_method(ClientAuthMethod.PRIVATE_KEY_JWT.value, PrivateKeyJwt(self))
        issuer_parameter = IssuerParameter()
        issuer_parameter.get_issuer = lambda: issuer
        self.register_extension(issuer_parameter)

    # Authlib's framework hooks

    def query_client(self, client_id: str) -> OAuthClient | None:
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        app = self.companies.app_by_client_id(current().session, client_id)
        return None if app is None else OAuthClient(app)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        refresh = token.get("refresh_token")
        membership = request.user
        if refresh is None or not isinstance(membership, Membership):
            return
        now = self.clock.now()
        session = current().session
        horizon = self.consent_horizon(session, membership, request.client.app)
        expires_at = min(now + timedelta(seconds=REFRESH_TOKEN_TTL_S), horizon or now)
        repository.insert_refresh_token(
            session,
            repository.RefreshToken(
                id=self.ids.next(),
                token_hash=token_hash(refresh),
                app_id=request.client.app.id,
                membership_id=membership.id,
                scope=str(token.get("scope", "")),
                issued_at=now,
                expires_at=expires_at,
                revoked_at=None,
            ),
        )

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def create_json_request(self, request: JsonRequest) -> JsonRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # Backbone's rules

    def generate_tokens(
        self,
        grant_type: str,
        client: OAuthClient,
        user: Membership | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        granted = {Scope(value) for value in (scope or "").split() if value in Scope._value2member_map_}
        if user is None:
            granted = {value for value in granted if value not in MEMBER_SCOPES}
        scope_text = format_scopes(granted)
        now = int(self.clock.now().timestamp())
        claims = {
            "iss": self.issuer,
            "sub": client.app.client_id if user is None else user.subject,
            "aud": self.audience,
            "client_id": client.app.client_id,
            "iat": now,
            "exp": now + ACCESS_TOKEN_TTL_S,
            "jti": secrets.token_urlsafe(18),
            "scope": scope_text,
        }
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": self.keys.sign(claims),
            "expires_in": ACCESS_TOKEN_TTL_S,
            "scope": scope_text,
        }
        if user is not None and include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(TOKEN_BYTES)
        return token

    def consent_horizon(self, session: Session, membership: Membership, app: App) -> datetime | None:
        """The earliest expiry among the consents behind the app's readable accounts: no refresh
        token outlives it. None when no account is readable now."""
        now = self.clock.now()
        horizon: datetime | None = None
        for linked in self.journey.linked_accounts(session, membership, app):
            if linked.state(now).value != "ok":
                continue
            for consent in (linked.platform_consent, linked.fintech_consent):
                if consent is not None and (horizon is None or consent.expires_at < horizon):
                    horizon = consent.expires_at
        return horizon

    def readable_membership(self, session: Session, membership_id: int, app: App) -> Membership | None:
        membership = journey_repository.membership_by_id(session, membership_id)
        if membership is None or not membership.is_active or not app.in_production:
            return None
        if self.consent_horizon(session, membership, app) is None:
            return None
        return membership

    def query_any_token(
        self, token_string: str, hint: str | None
    ) -> StoredRefreshToken | StoredAccessToken | None:
        session = current().session
        now = self.clock.now()
        if hint != "access_token":
            stored = repository.refresh_token_by_hash(session, token_hash(token_string))
            if stored is not None:
                app = self.companies.app(session, stored.app_id)
                return StoredRefreshToken(stored, app.client_id, now)
        claims = self.keys.verify(token_string) if len(token_string) < 4_096 else None
        if claims is None or claims.get("iss") != self.issuer:
            return None
        owner = self.companies.app_by_client_id(session, str(claims.get("client_id")))
        if owner is None:
            return None
        revoked = repository.access_token_revoked(session, str(claims.get("jti")))
        return StoredAccessToken(claims, owner.id, revoked, now)


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    DEFAULT_CODE_CHALLENGE_METHOD = CODE_CHALLENGE_METHOD
    SUPPORTED_CODE_CHALLENGE_METHOD = [CODE_CHALLENGE_METHOD]  # noqa: RUF012 - Authlib's own attribute

    def get_authorization_code_challenge(self, authorization_code: StoredCode) -> str:
        return authorization_code.code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: StoredCode) -> str:
        return authorization_code.code.code_challenge_method


def _server(grant: Any) -> PlatformAuthorizationServer:
    server: PlatformAuthorizationServer = grant.server
    return server


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        server = _server(self)
        now = server.clock.now()
        membership: Membership = request.user
        repository.insert_code(
            current().session,
            repository.AuthorizationCode(
                code_hash=token_hash(code),
                app_id=request.client.app.id,
                membership_id=membership.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope or "",
                code_challenge=request.payload.data["code_challenge"],
                code_challenge_method=request.payload.data.get(
                    "code_challenge_method", CODE_CHALLENGE_METHOD
                ),
                issued_at=now,
                expires_at=now + timedelta(seconds=AUTHORIZATION_CODE_TTL_S),
                used_at=None,
            ),
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> StoredCode | None:
        if not isinstance(code, str) or len(code) > 256:
            return None
        stored = repository.code_by_hash(current().session, token_hash(code))
        now = _server(self).clock.now()
        if (
            stored is None
            or stored.app_id != client.app.id
            or stored.used_at is not None
            or now >= stored.expires_at
        ):
            return None
        return StoredCode(stored)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        return None  # used up in authenticate_user, before any token exists

    def authenticate_user(self, authorization_code: StoredCode) -> Membership | None:
        server = _server(self)
        session = current().session
        if not repository.use_code(session, authorization_code.code.code_hash, server.clock.now()):
            return None  # a second exchange of the same code
        app = server.companies.app(session, authorization_code.code.app_id)
        return server.readable_membership(session, authorization_code.code.membership_id, app)


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        server = _server(self)
        session = current().session
        stored = repository.refresh_token_by_hash(session, token_hash(refresh_token))
        now = server.clock.now()
        if stored is None or stored.revoked_at is not None or now >= stored.expires_at:
            return None
        app = server.companies.app(session, stored.app_id)
        # A refresh token is worth no more than the consents behind it: when none of the app's
        # accounts is readable any more (revoked, expired, withdrawn), the grant is invalid.
        membership = server.readable_membership(session, stored.membership_id, app)
        if membership is None:
            return None
        current().extras["membership"] = membership
        return StoredRefreshToken(stored, app.client_id, now)

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> Membership | None:
        membership = current().extras.get("membership")
        return membership if isinstance(membership, Membership) else None

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        repository.revoke_refresh_token(current().session, refresh_token.token.id, _server(self).clock.now())


class AppCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return _server(self).query_any_token(token_string, token_type_hint)

    def revoke_token(self, token: Any, request: OAuth2Request) -> None:
        server = _server(self)
        session = current().session
        now = server.clock.now()
        if isinstance(token, StoredRefreshToken):
            repository.revoke_refresh_token(session, token.token.id, now)
        elif isinstance(token, StoredAccessToken):
            expires = datetime.fromtimestamp(float(token.claims["exp"]), tz=now.tzinfo)
            repository.revoke_access_token(session, str(token.claims["jti"]), expires, now)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return _server(self).query_any_token(token_string, token_type_hint)

    def check_permission(self, token: Any, client: OAuthClient, request: OAuth2Request) -> bool:
        return token.check_client(client) is True

    def introspect_token(self, token: Any) -> dict[str, Any]:
        server = _server(self)
        if isinstance(token, StoredAccessToken):
            return {
                "active": True,
                "token_type": "Bearer",
                **{
                    key: token.claims[key]
                    for key in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")
                },
            }
        session = current().session
        membership = journey_repository.membership_by_id(session, token.token.membership_id)
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": token.token.scope,
            "client_id": token.client_id,
            "sub": None if membership is None else membership.subject,
            "iss": server.issuer,
            "exp": int(token.token.expires_at.timestamp()),
            "iat": int(token.token.issued_at.timestamp()),
        }


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """private_key_jwt (RFC 7523 §2.2): the app signs an assertion with a key of its registered
    JWKS; each assertion's jti is accepted once."""

    CLIENT_AUTH_METHOD = ClientAuthMethod.PRIVATE_KEY_JWT.value

    def __init__(self, server: PlatformAuthorizationServer) -> None:
        super().__init__(validate_jti=True)
        self._server = server

    def get_audiences(self) -> list[str]:
        return [f"{self._server.issuer}/oauth/token", self._server.issuer]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        if not isinstance(jti, str) or len(jti) > 128:
            return False
        expires_at = self._server.clock.now() + timedelta(seconds=CLIENT_ASSERTION_TTL_S)
        return repository.claim_assertion(current().session, jti, str(claims.get("sub")), expires_at)

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        return KeySet.import_key_set(json.loads(client.app.jwks or '{"keys": []}'))

    def authenticate_client(self, client: OAuthClient) -> OAuthClient:
        if client.check_endpoint_auth_method(self.CLIENT_AUTH_METHOD, "token"):
            return client
        return super().authenticate_client(client)  # type: ignore[no-any-return]
