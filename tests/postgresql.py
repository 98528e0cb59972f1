"""A throw-away PostgreSQL cluster for the suite and the benchmarks.

`initdb` into a temporary directory, started on a free loopback port, stopped and deleted at the
end. PostgreSQL refuses to run as root, so when the suite runs as root the cluster runs as the
`postgres` system user that Debian's package creates. The system's own service is never touched.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Self

import psycopg

SERVICE_USER = "postgres"
START_TIMEOUT_S = 60


class PostgresqlUnavailableError(RuntimeError):
    pass


def binaries() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4])
    )
    if not candidates:
        raise PostgresqlUnavailableError(
            "PostgreSQL is not installed; `make test` installs Debian's postgresql"
        )
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """Start with `with Cluster() as cluster:`; `cluster.url(database)` names a database in it."""

    def __init__(self, *, durable: bool = False) -> None:
        # durable=False turns fsync off: the suite needs isolation, not crash safety. Benchmarks
        # that measure durable writes pass durable=True.
        self.durable = durable
        self.directory = Path(tempfile.mkdtemp(prefix="backbone-pg-"))
        self.port = free_port()
        self._user: str | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self, *arguments: str) -> None:
        completed = subprocess.run(  # noqa: S603 - fixed binaries from the PostgreSQL install
            arguments, user=self._user, capture_output=True, text=True, check=False, timeout=START_TIMEOUT_S
        )
        if completed.returncode != 0:
            raise PostgresqlUnavailableError(f"{arguments[0]} failed: {completed.stderr.strip()}")

    def start(self) -> None:
        bin_directory = binaries()
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError as error:
                raise PostgresqlUnavailableError("running as root, but no 'postgres' user exists") from error
            self._user = SERVICE_USER
            shutil.chown(self.directory, SERVICE_USER)
        data = self.directory / "data"
        self._run(
            str(bin_directory / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "backbone",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-k {self.directory}",
            "-c max_connections=200",
        ]
        if not self.durable:
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            str(bin_directory / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.directory / "server.log"),
            "-o",
            " ".join(settings),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "start",
        )

    def stop(self) -> None:
        data = self.directory / "data"
        if (data / "postmaster.pid").exists():
            self._run(str(binaries() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://backbone@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(f"postgresql://backbone@127.0.0.1:{self.port}/postgres", autocommit=True)

    def create_database(self, name: str, *, template: str | None = None) -> str:
        with self.admin() as connection:
            clause = f' TEMPLATE "{template}"' if template else ""
            connection.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
