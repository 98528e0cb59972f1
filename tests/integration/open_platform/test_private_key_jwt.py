"""private_key_jwt (RFC 7523 §2.2) at the token endpoint: an app registers its public JWK, signs a
client assertion with the private key (Authlib's client-side signer) and gets a token; an assertion
signed with another key, an expired one, and a replayed one (same jti) are refused."""

from __future__ import annotations

import time
from typing import Any

from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import ECKey

from tests.integration.open_platform.conftest import World
from tests.open_platform.journey import BUSINESS, REDIRECT_URI, check, register_app

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def register_key_app(world: World, key: ECKey) -> str:
    company = register_app(world.client, index=2, name="키서명").company_key
    public = key.as_dict(private=False) | {"kid": "app-key-1", "use": "sig", "alg": "ES256"}
    registered = check(
        world.client.post(
            f"{BUSINESS}/apps",
            json={
                "name": "키서명 앱",
                "redirect_uris": [REDIRECT_URI],
                "scopes": ["market.read"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [public]},
            },
            headers={"Authorization": f"Bearer {company}"},
        ),
        201,
    )
    assert registered["client_secret"] is None  # nothing to keep secret on the server's side
    client_id: str = registered["app"]["client_id"]
    return client_id


def assertion(world: World, client_id: str, key: ECKey, **times: int) -> str:
    token_endpoint = f"{world.container.open_platform.oauth.issuer}/oauth/token"
    signed: str = private_key_jwt_sign(
        key,
        client_id=client_id,
        token_endpoint=token_endpoint,
        alg="ES256",
        header={"kid": "app-key-1"},
        **times,
    )
    return signed


def token_request(world: World, client_id: str, signed: str) -> Any:
    return world.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "scope": "market.read",
            "client_id": client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
        },
    )


def refused(response: Any, status: int = 400) -> None:
    """RFC 6749 §5.2: 401 when the client authenticated by the Authorization header, else 400."""
    assert response.status_code == status, response.text
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


def test_an_app_authenticates_with_an_assertion_signed_by_its_registered_key(world: World) -> None:
    key = ECKey.generate_key("P-256")
    client_id = register_key_app(world, key)

    granted = check(token_request(world, client_id, assertion(world, client_id, key)))

    assert granted["token_type"].lower() == "bearer"
    market = world.client.get(
        "/open/v1/market/instruments/005930", headers={"Authorization": f"Bearer {granted['access_token']}"}
    )
    assert market.status_code == 200, market.text
    assert market.json()["code"] == "005930"


def test_another_key_an_expired_assertion_and_a_replay_are_refused(world: World) -> None:
    key = ECKey.generate_key("P-256")
    client_id = register_key_app(world, key)
    now = int(time.time())  # Authlib checks an assertion's exp against the system clock

    refused(token_request(world, client_id, assertion(world, client_id, ECKey.generate_key("P-256"))))
    refused(
        token_request(
            world, client_id, assertion(world, client_id, key, issued_at=now - 900, expires_at=now - 300)
        )
    )
    once = assertion(world, client_id, key)
    check(token_request(world, client_id, once))
    refused(token_request(world, client_id, once))  # the same jti a second time
    # And a client secret is no way in for an app that registered a key.
    by_secret = world.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "market.read"},
        auth=(client_id, "not-a-secret"),
    )
    refused(by_secret, 401)
