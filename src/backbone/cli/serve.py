"""`backbone serve`: the portal, the trading screen and the API on one port."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from backbone import bootstrap
from backbone.app import create_app
from backbone.config import Settings
from backbone.kit.logs import configure_logging


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
    configure_logging(level=settings.log_level, json=settings.log_json)
    container = bootstrap.build(settings)
    app = create_app(container, run_market=True, background=settings.webhook_worker)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,  # our structlog configuration stays in charge
        access_log=False,
        proxy_headers=False,
    )
