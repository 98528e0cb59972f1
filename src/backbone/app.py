"""The FastAPI application factory. No app exists at import time: `create_app(container)` builds one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

import backbone
from backbone import bootstrap, schema
from backbone.bootstrap import Container
from backbone.brokerage.customer_endpoints import customer_router
from backbone.brokerage.endpoints import backoffice_router
from backbone.brokerage.trading.endpoints import operations_router, orders_router
from backbone.brokerage.trading.errors import RETRY_AFTER_S
from backbone.demo.market import DemoMarket
from backbone.errors import all_error_types
from backbone.exchange.endpoints import market_router
from backbone.identity.endpoints import identity_router
from backbone.middleware import NO_TELEMETRY, RequestMiddleware
from backbone.open_platform.api.app import OPEN_API_PREFIX, create_open_api
from backbone.open_platform.companies.endpoints import business_router, operator_router
from backbone.open_platform.journey.endpoints import router as portal_router
from backbone.open_platform.oauth.endpoints import app_router as oauth_app_router
from backbone.open_platform.oauth.endpoints import router as oauth_router
from backbone.open_platform.webhooks.worker import WebhookWorker
from backbone.problems import install_problem_handlers, problem_response
from backbone.quotes.endpoints import WebSocketTransportMiddleware, quotes_router, quotes_socket_router
from backbone.web import install_portal

API_DESCRIPTION = """
Backbone's HTTP API. Every error is RFC 9457 `application/problem+json` with a stable `code`;
`GET /problems` lists them all.
"""


def create_app(
    container: Container | None = None, *, run_market: bool = False, background: bool = False
) -> FastAPI:
    """The application. With `run_market`, this process also runs the venue and the order
    pipeline (one process per installation may: the venue's journal admits one writer); with
    `background`, the open platform's webhook worker (`backbone serve` turns both on)."""
    owns_container = container is None
    resolved = container or bootstrap.build()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_market:
            if resolved.trading is None:  # `backbone serve` opens it before serving
                resolved.trading = await run_in_threadpool(bootstrap.open_trading, resolved)
            resolved.quotes.attach(asyncio.get_running_loop())
        # Built before the pipeline runs: it reads the venue's books as recovered.
        demo = _demo_market(resolved) if run_market and resolved.settings.demo_market else None
        if resolved.trading is not None:
            resolved.trading.pipeline.start()
        if demo is not None:
            demo.start()
        worker = WebhookWorker(resolved.open_platform, resolved.database) if background else None
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if demo is not None:
                await run_in_threadpool(demo.stop)
            if run_market and resolved.trading is not None:
                await run_in_threadpool(resolved.trading.close)
                resolved.trading = None
                resolved.quotes.attach(None)
            if owns_container:
                resolved.close()

    app = _application(resolved, lifespan)
    app.add_middleware(WebSocketTransportMiddleware)
    for router in _routers():
        app.include_router(router)
    install_portal(app)  # last: the portal's pages take every path the API does not
    return app


def create_open_platform_app(container: Container, *, close_container: bool = False) -> FastAPI:
    """Only the open platform's public surface, for the open API's worker processes (`backbone
    serve-open-api`): the open API at /open/v1, the OAuth endpoints apps call, health, readiness,
    metrics and problem types. No venue, no portal, no webhook worker: `backbone serve` runs those.
    With `close_container`, shutting down closes it (the read audit drains its spool first)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_container:
                await run_in_threadpool(container.close)

    app = _application(container, lifespan)
    app.include_router(oauth_app_router)
    return app


def _application(container: Container, lifespan: Any) -> FastAPI:
    """What every server process has: the container, the request middleware, problem+json
    errors, the open API mounted first, and the operations routes."""
    app = FastAPI(
        telemetry=NO_TELEMETRY,
        title="Backbone",
        version=backbone.__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.state.container = container
    app.add_middleware(RequestMiddleware)
    install_problem_handlers(app)
    open_api = create_open_api()
    open_api.state.container = container
    app.mount(OPEN_API_PREFIX, open_api)  # first: apps' calls are matched before every other route
    _add_operations_routes(app)
    return app


def _demo_market(container: Container) -> DemoMarket:
    trading = container.trading
    if trading is None:
        raise RuntimeError("the demo market trades on the venue this process runs")
    return DemoMarket(
        pipeline=trading.pipeline,
        venue=trading.venue,
        clock=container.clock,
        var_directory=container.settings.var_directory,
        commands_per_second=container.settings.demo_market_commands_per_second,
    )


def _routers() -> list[APIRouter]:
    return [
        backoffice_router,
        market_router,
        identity_router,
        customer_router,
        orders_router,
        operations_router,
        portal_router,
        business_router,
        operator_router,
        oauth_router,
        quotes_router,
        quotes_socket_router,
    ]


def _add_operations_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the database answers and is migrated, and the order pipeline takes orders",
    )
    def readyz(request: Request) -> Response:
        container: Container = request.app.state.container
        try:
            container.database.ping()
            current, head = schema.revisions(container.database.engine)
        except Exception as error:
            return problem_response(
                request,
                status=503,
                code="server.not_ready",
                title="Not ready",
                detail=f"the database cannot be reached: {type(error).__name__}",
            )
        if current != head:
            return problem_response(
                request,
                status=503,
                code="server.not_migrated",
                title="Not ready",
                detail=f"the database is at {current}, the code expects {head}: run `backbone db upgrade`",
            )
        trading = container.trading
        health = None if trading is None else trading.pipeline.health()
        if health is not None and not health.ready:
            return problem_response(
                request,
                status=503,
                code="server.orders_paused",
                title="Not ready",
                detail=f"orders are paused: {health.reason}",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return JSONResponse({"status": "ready", "database_revision": current})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/problems", tags=["operations"], summary="Every problem type this API returns")
    def problems() -> list[dict[str, Any]]:
        return [
            {
                "type": f"/problems/{error.code}",
                "code": error.code,
                "title": error.title,
                "status": error.status_code,
            }
            for error in all_error_types()
        ]

    @app.get("/problems/{code}", tags=["operations"], summary="One problem type")
    def problem(code: str, request: Request) -> Response:
        for error in all_error_types():
            if error.code == code:
                return JSONResponse(
                    {
                        "type": f"/problems/{code}",
                        "code": code,
                        "title": error.title,
                        "status": error.status_code,
                        "description": (error.__doc__ or error.title).strip(),
                    }
                )
        return problem_response(
            request, status=404, code="http.not_found", title="Not found", detail=f"no problem type {code!r}"
        )
