"""Schemathesis against the open API's own OpenAPI document, in process (the ASGI app), with a real
member token: no 5xx, and every response conforms to the document (status, headers, body)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backbone.open_platform.api.app import OPEN_API_PREFIX
from tests.integration.open_platform.conftest import World
from tests.integration.open_platform.test_journey_and_api import complete_journey, tokens_for
from tests.open_platform.journey import check

EXAMPLES_PER_OPERATION = 15


def test_every_open_api_operation_answers_within_its_schema_and_never_with_a_5xx(world: World) -> None:
    complete_journey(world.alice, world.app_a, ["HNB", "SSL"])
    tokens = tokens_for(world, world.alice, world.app_a)
    app_only = check(
        world.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "market.read"},
            auth=(world.app_a.client_id, world.app_a.client_secret),
        )
    )
    open_api = next(  # the /open/v1 mount
        route.app
        for route in world.client.app.routes  # type: ignore[attr-defined]
        if getattr(route, "path", None) == OPEN_API_PREFIX
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", open_api)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        token = app_only["access_token"] if operation.path.startswith("/market") else tokens["access_token"]
        authorization = f"Bearer {token}"  # read by `run` below, defined and called in this iteration

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": authorization}  # noqa: B023 - run() is called within its own iteration
            response = case.call()
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        try:
            run()
        except Exception as error:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert failures == [], "\n\n".join(failures)
