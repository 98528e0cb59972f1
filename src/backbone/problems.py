"""One error handler for the whole API: every failure leaves as RFC 9457 problem+json.

- A typed `BackboneError` keeps its status and stable `code`.
- Request validation failures become 422 `request.invalid`, with each field's error.
- Unknown routes and methods become 404/405 problems; anything unexpected becomes a 500 problem
  that reveals nothing of the internals (the log has the traceback, keyed by the request id).

The `type` member is a relative URI, `/problems/{code}`, which this server answers with a page
describing the problem, so a client can always dereference it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backbone.errors import BackboneError
from backbone.kit.logs import get_logger

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = get_logger("backbone.problems")

_HTTP_CODES = {
    400: ("http.bad_request", "Bad request"),
    401: ("http.unauthorized", "Authentication is required"),
    403: ("http.forbidden", "Not allowed"),
    404: ("http.not_found", "Not found"),
    405: ("http.method_not_allowed", "Method not allowed"),
    413: ("http.payload_too_large", "The request body is too large"),
    415: ("http.unsupported_media_type", "Unsupported media type"),
}


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id is not None:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _backbone_error(request: Request, error: Exception) -> JSONResponse:
    error = cast(BackboneError, error)  # registered for this type only
    return problem_response(
        request,
        status=error.status_code,
        code=error.code,
        title=error.title,
        detail=error.detail,
        headers=error.headers,
        **error.extensions,
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    error = cast(RequestValidationError, error)
    fields = [
        {
            "location": ".".join(str(part) for part in item.get("loc", ())),
            "message": item.get("msg", ""),
            "kind": item.get("type", ""),
        }
        for item in error.errors()
    ]
    return problem_response(
        request,
        status=422,
        code="request.invalid",
        title="The request is not valid",
        detail="; ".join(f"{field['location']}: {field['message']}" for field in fields),
        errors=fields,
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    error = cast(StarletteHTTPException, error)
    code, title = _HTTP_CODES.get(error.status_code, (f"http.{error.status_code}", "HTTP error"))
    detail = error.detail if isinstance(error.detail, str) else title
    return problem_response(
        request, status=error.status_code, code=code, title=title, detail=detail, headers=error.headers
    )


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.error("request.failed", path=request.url.path, exc_info=error)
    return problem_response(
        request,
        status=500,
        code="server.internal_error",
        title="Internal error",
        detail="The server failed to complete the request; nothing was changed.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BackboneError, _backbone_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
