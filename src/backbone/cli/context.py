"""What every command needs: settings from the environment, a container, a console."""

from __future__ import annotations

from rich.console import Console

from backbone import bootstrap
from backbone.bootstrap import Container
from backbone.config import Settings
from backbone.kit.logs import configure_logging

console = Console()


def container() -> Container:
    settings = Settings()
    # Commands talk to a person: readable warnings only, not a JSON stream.
    configure_logging(level="WARNING", json=False)
    return bootstrap.build(settings)
