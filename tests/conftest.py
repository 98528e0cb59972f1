"""Fixtures shared by every test directory.

- `clock`: a simulated clock at a Monday morning in Seoul.
- `database_url`: a freshly migrated database (with the instrument master loaded) per test, on
  SQLite and — as a second parameter — on PostgreSQL. Each engine's migrated template is built
  once per run and copied per test, so isolation costs milliseconds.
- `container`: the composition root over that database, with the simulated clock.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from backbone import bootstrap, schema
from backbone.bootstrap import Container
from backbone.config import Settings
from backbone.kit.clock import SEOUL, SimulatedClock
from backbone.kit.logs import configure_logging
from tests.postgresql import Cluster

# Tracebacks as plain text: structlog's default console (rich, with every frame's locals) takes
# seconds to render a traceback through the order pipeline's large objects.
configure_logging(level="INFO", json=False)

OPERATOR_TOKEN = "test-operator-token"
MARKET_MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=SEOUL)
TEMPLATE_DATABASE = "backbone_template"


def postgresql_enabled() -> bool:
    return os.environ.get("BACKBONE_TEST_POSTGRESQL", "1") != "0"


def settings_for(database_url: str, var_directory: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_directory=var_directory,
        operator_token=SecretStr(OPERATOR_TOKEN),
        sqlite_synchronous="NORMAL",
    )


def _migrate(url: str, var_directory: Path) -> None:
    container = bootstrap.build(settings_for(url, var_directory), clock=SimulatedClock(MARKET_MORNING))
    try:
        schema.upgrade(container.database.engine)
        with container.database.transaction() as session:
            bootstrap.sync_reference_data(session, container)
    finally:
        container.close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(MARKET_MORNING)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sqlite-template")
    path = directory / "template.sqlite3"
    _migrate(f"sqlite:///{path}", directory)
    return path


@pytest.fixture(scope="session")
def postgresql_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not postgresql_enabled():
        pytest.skip("BACKBONE_TEST_POSTGRESQL=0: the PostgreSQL half of the suite is off")
    with Cluster() as cluster:
        url = cluster.create_database(TEMPLATE_DATABASE)
        _migrate(url, tmp_path_factory.mktemp("postgresql-template"))
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "backbone.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    cluster: Cluster = request.getfixturevalue("postgresql_cluster")
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = cluster.create_database(name, template=TEMPLATE_DATABASE)
    yield url
    cluster.drop_database(name)


@pytest.fixture
def container(database_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[Container]:
    built = bootstrap.build(settings_for(database_url, tmp_path), clock=clock)
    yield built
    built.close()
