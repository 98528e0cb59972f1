"""An HTTP portal over the `container` fixture (both databases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backbone.app import create_app
from backbone.bootstrap import Container
from tests.identity.portal import Portal


@pytest.fixture
def portal(container: Container) -> Iterator[Portal]:
    # https, so the Secure cookies the portal sets are sent back, as a browser would.
    with TestClient(create_app(container), base_url="https://testserver") as client:
        yield Portal(client=client, container=container)
