"""`backbone serve`: the portal, the trading screen and the API on one port; `backbone
serve-open-api`: the open API alone in worker processes beside it (docs/open_platform.md)."""

from __future__ import annotations

import gc
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from backbone import bootstrap
from backbone.app import create_app, create_open_platform_app
from backbone.cli import open_api_workers
from backbone.config import Settings
from backbone.kit import nodes
from backbone.kit.logs import configure_logging
from backbone.open_platform.oauth.keys import SigningKeys

WORKERS_MAX = 15  # node ids 1-15; node 0 is `backbone serve`'s


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (BACKBONE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (BACKBONE_PORT)")] = None,
    demo_market: Annotated[
        bool,
        typer.Option(
            help="Keep a live demo market: the liquidity simulator on the venue (BACKBONE_DEMO_MARKET)"
        ),
    ] = False,
) -> None:
    """Serve HTTP and WebSocket on http://HOST:PORT (default 127.0.0.1:8000)."""
    settings = Settings()
    if demo_market:
        settings = settings.model_copy(update={"demo_market": True})
    configure_logging(level=settings.log_level, json=settings.log_json, server=True)
    node = nodes.claim(settings.var_directory, settings.node_id)
    if node is None:
        raise typer.BadParameter(
            f"node {settings.node_id} is held by another live process of this installation "
            f"(var/nodes/{settings.node_id}.lock): is `backbone serve` already running? (BACKBONE_NODE_ID)"
        )
    try:
        container = bootstrap.build(settings)
        # Opened here rather than in the app's startup, so that a refusal to start (a damaged
        # journal, another installation's) reaches the operator as one line, not as a traceback.
        container.trading = bootstrap.open_trading(container)
        app = create_app(container, run_market=True, background=settings.webhook_worker)
        settle_garbage_collector()
        uvicorn.run(
            app,
            host=host or settings.host,
            port=port or settings.port,
            log_config=None,  # our structlog configuration stays in charge
            access_log=False,
            proxy_headers=False,
        )
    finally:
        node.release()


def serve_open_api(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (BACKBONE_HOST)")] = None,
    port: Annotated[int, typer.Option(help="Port (not `backbone serve`'s)")] = 8001,
    workers: Annotated[
        int, typer.Option(min=1, max=WORKERS_MAX, help="Worker processes, each with a node id of its own")
    ] = 2,
) -> None:
    """Serve the open API (/open/v1) and the OAuth endpoints apps call, in WORKERS processes on
    http://HOST:PORT, beside a running `backbone serve` (which runs the venue, the portal and the
    webhooks). Prices, rate limits and the database are shared; see docs/open_platform.md."""
    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json, server=True)
    free = nodes.free_nodes(settings.var_directory, first=1)
    if len(free) < workers:
        # Checked here, where it can be said once: a worker that finds no node exits, and uvicorn
        # would start it again and again.
        raise typer.BadParameter(
            f"{workers} workers need {workers} free node ids; {len(free)} of 1-{WORKERS_MAX} are free "
            f"(the others are held by live processes: see {settings.var_directory / nodes.NODES_DIRECTORY})"
        )
    # What every process generates on first need, generated once here, before the workers start
    # at the same moment: two of them racing to create a key would each sign with their own.
    bootstrap.resolve_secret_key(settings)
    bootstrap.resolve_operator_token(settings)
    SigningKeys.generated_once(settings.var_directory)
    try:
        open_api_workers.supervise(host or settings.host, port, workers)
    except OSError as error:
        raise typer.BadParameter(f"cannot listen on port {port}: {error.strerror}") from error
    except open_api_workers.WorkerFailed as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


def open_api_worker() -> FastAPI:
    """Run by each worker process: claim the first free node id from 1, build the container on
    it, serve the open platform's public surface."""
    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json, server=True)
    node = nodes.claim_first_free(settings.var_directory, first=1)
    container = bootstrap.build(settings.model_copy(update={"node_id": node.node}))
    app = create_open_platform_app(container, close_container=True)
    app.state.node = node  # held for the process's life: the lock goes with the process
    settle_garbage_collector()
    return app


def settle_garbage_collector() -> None:
    """Moves everything built so far (modules, the container, the app) out of the collector's
    sight: what lives for the whole process would otherwise be walked at every full collection,
    a pause every request waiting then shares (seen in the tail latency under load)."""
    gc.collect()
    gc.freeze()
