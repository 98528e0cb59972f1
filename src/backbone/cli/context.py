"""What every command needs: settings from the environment, a container, a console, a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A bar that follows a long read; call what it yields with (done, total)."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)
