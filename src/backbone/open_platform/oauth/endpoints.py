"""The authorization server over HTTP. The authorize endpoint uses the member's portal session;
the token, revocation and introspection endpoints authenticate the app and answer with RFC 6749
error JSON (as those RFCs require), not problem+json."""

from __future__ import annotations

from typing import Annotated, Any, cast
from urllib.parse import parse_qsl

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from backbone.dependencies import service
from backbone.identity.dependencies import CurrentMemberDep
from backbone.kit.db import Database
from backbone.open_platform.errors import AppNotInProduction, AuthorizationRefused
from backbone.open_platform.oauth.domain import CODE_CHALLENGE_METHOD
from backbone.open_platform.oauth.server import OAuthResponse, PlatformRequest, scope
from backbone.open_platform.services import OpenPlatform

router = APIRouter(tags=["open platform: OAuth 2.0"])
app_router = APIRouter(tags=["open platform: OAuth 2.0"])  # what apps call: no member session
FORM_FIELDS_MAX = 30
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _platform(request: Request) -> OpenPlatform:
    return cast(OpenPlatform, service(request, "open_platform"))


def _database(request: Request) -> Database:
    return cast(Database, service(request, "database"))


PlatformDep = Annotated[OpenPlatform, Depends(_platform)]
DatabaseDep = Annotated[Database, Depends(_database)]


def _response(answer: OAuthResponse) -> Response:
    headers = dict(answer.headers)
    if answer.status in (301, 302, 303):
        return RedirectResponse(headers.pop("Location"), status_code=302, headers=NO_STORE)
    return JSONResponse(answer.body, status_code=answer.status, headers={**headers, **NO_STORE})


@router.get(
    "/oauth/authorize",
    summary="Authorization endpoint: code with PKCE (S256); uses the member's portal session",
    responses={302: {"description": "Back to the app's redirect URI with code, state and iss"}},
)
def authorize(
    request: Request, member: CurrentMemberDep, database: DatabaseDep, platform: PlatformDep
) -> Response:
    arguments = [(key, value) for key, value in request.query_params.multi_items()][:FORM_FIELDS_MAX]
    oauth_request = PlatformRequest(
        method="GET", uri=str(request.url), headers=request.headers, args=arguments, form=[]
    )
    parameters = dict(arguments)
    server = platform.oauth.server
    with database.transaction() as session, scope(session):
        app = platform.companies.app_by_client_id(session, parameters.get("client_id", "")[:64])
        redirect_uri = parameters.get("redirect_uri")
        if app is None or redirect_uri not in app.redirect_uris:
            # Never redirect to a URI the app did not register: tell the member instead.
            raise AuthorizationRefused("unknown client_id, or a redirect_uri the app did not register")
        if parameters.get("code_challenge_method") != CODE_CHALLENGE_METHOD or not parameters.get(
            "code_challenge"
        ):
            error = InvalidRequestError(
                "PKCE is required: code_challenge with code_challenge_method=S256",
                redirect_uri=redirect_uri,
                state=parameters.get("state"),
            )
            return _error_redirect(server.issuer, server.handle_error_response(oauth_request, error))
        if not app.in_production:
            raise AppNotInProduction(f"{app.name} is not approved for members yet")
        membership = platform.journey.require_complete(session, member_id=member.member_id, app=app)
        try:
            grant = server.get_consent_grant(oauth_request, end_user=membership)
        except OAuth2Error as error:
            return _error_redirect(server.issuer, server.handle_error_response(oauth_request, error))
        answer = server.create_authorization_response(oauth_request, grant_user=membership, grant=grant)
    return _response(answer)


def _error_redirect(issuer: str, answer: OAuthResponse) -> Response:
    location = answer.location
    if location is not None and "iss=" not in location:
        answer.location = add_params_to_uri(location, {"iss": issuer})
    return _response(answer)


async def _form(request: Request) -> PlatformRequest:
    """The form fields of an application/x-www-form-urlencoded body (RFC 6749 §3.2); any other
    body reads as no fields, which Authlib refuses with invalid_request."""
    fields: list[tuple[str, str]] = []
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded":
        body = (await request.body()).decode("utf-8", errors="replace")
        fields = parse_qsl(body, keep_blank_values=True, max_num_fields=FORM_FIELDS_MAX)[:FORM_FIELDS_MAX]
    return PlatformRequest(method="POST", uri=str(request.url), headers=request.headers, args=[], form=fields)


def _run(database: Database, work: Any) -> OAuthResponse:
    with database.transaction() as session, scope(session):
        return cast(OAuthResponse, work())


@app_router.post(
    "/oauth/token", summary="Token endpoint: authorization_code, refresh_token, client_credentials"
)
async def token(request: Request, database: DatabaseDep, platform: PlatformDep) -> Response:
    oauth_request = await _form(request)
    answer = await run_in_threadpool(
        _run, database, lambda: platform.oauth.server.create_token_response(oauth_request)
    )
    return _response(answer)


@app_router.post("/oauth/revoke", summary="Token revocation (RFC 7009)")
async def revoke(request: Request, database: DatabaseDep, platform: PlatformDep) -> Response:
    oauth_request = await _form(request)
    answer = await run_in_threadpool(
        _run, database, lambda: platform.oauth.server.create_endpoint_response("revocation", oauth_request)
    )
    return _response(answer)


@app_router.post("/oauth/introspect", summary="Token introspection (RFC 7662)")
async def introspect(request: Request, database: DatabaseDep, platform: PlatformDep) -> Response:
    oauth_request = await _form(request)
    answer = await run_in_threadpool(
        _run, database, lambda: platform.oauth.server.create_endpoint_response("introspection", oauth_request)
    )
    return _response(answer)


@app_router.get("/oauth/jwks", summary="The keys that sign access tokens")
def jwks(platform: PlatformDep) -> dict[str, Any]:
    return platform.oauth.keys.jwks()


@app_router.get("/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)")
def metadata(platform: PlatformDep) -> dict[str, Any]:
    return platform.oauth.metadata()


# The portal's process serves all of it; the open API's worker processes (`backbone serve-open-api`)
# serve the app-facing part only: `authorize` needs the member's portal session and its pages.
router.include_router(app_router)
