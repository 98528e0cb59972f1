"""What page handlers share: the container's services as dependencies, and the posted form with
its CSRF token checked before the handler runs."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from backbone.config import Settings
from backbone.dependencies import service
from backbone.identity.service import Identity
from backbone.kit.clock import Clock
from backbone.kit.db import Database
from backbone.open_platform.services import OpenPlatform
from backbone.web.errors import FormExpired
from backbone.web.forms import Form, posted
from backbone.web.security import form_token_valid

# Never shown again after a post: a PIN is typed afresh, as banks' forms ask.
SECRET_FIELDS = frozenset({"pin", "pin_confirmation"})


def _identity(request: Request) -> Identity:
    return cast(Identity, service(request, "identity"))


def _database(request: Request) -> Database:
    return cast(Database, service(request, "database"))


def _clock(request: Request) -> Clock:
    return cast(Clock, service(request, "clock"))


def _platform(request: Request) -> OpenPlatform:
    return cast(OpenPlatform, service(request, "open_platform"))


def _settings(request: Request) -> Settings:
    return cast(Settings, service(request, "settings"))


async def _posted_form(request: Request) -> Form:
    form = await posted(request, secret_fields=SECRET_FIELDS)
    if not form_token_valid(request, form.csrf):
        raise FormExpired("the form's CSRF token is missing or belongs to another browser")
    return form


IdentityDep = Annotated[Identity, Depends(_identity)]
DatabaseDep = Annotated[Database, Depends(_database)]
ClockDep = Annotated[Clock, Depends(_clock)]
PlatformDep = Annotated[OpenPlatform, Depends(_platform)]
SettingsDep = Annotated[Settings, Depends(_settings)]
PostedForm = Annotated[Form, Depends(_posted_form)]
