"""The web layer: the investor portal's pages (server-rendered Jinja2, forms validated on the
server, htmx for partial updates) and its static assets (CSS, and the browser modules bundled from
`frontend/` by esbuild). It calls the domains' services; nothing below it imports it.

`install_portal(app)` registers everything on the application: `create_app` calls it last, so the
API's routes and problem handlers exist and the portal only adds to them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from backbone.kit.logs import get_logger
from backbone.web.errors import install_page_errors
from backbone.web.pages import (
    accounts,
    business,
    home,
    journey,
    login,
    my,
    operator,
    security,
    signup,
    trading,
)
from backbone.web.rendering import STATIC_PREFIX, error_page

log = get_logger("backbone.web")
STATIC_DIRECTORY = Path(str(resources.files("backbone.web").joinpath("static")))
BUILD_STAMP = STATIC_DIRECTORY / "build" / ".built"


def install_portal(app: FastAPI) -> None:
    if not BUILD_STAMP.exists():
        # The pages still render; only what needs the bundled scripts (keys, passkeys) will not.
        log.warning("web.frontend_not_built", hint="run `make run` or scripts/build-frontend")
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIRECTORY), name="static")
    for module in (home, signup, login, my, security, journey, accounts, business, operator, trading):
        app.include_router(module.router, include_in_schema=False)
    install_page_errors(app, error_page, detours=(journey.authorization_detour,))


__all__ = ["install_portal"]
