"""The SELECTs a block of code runs, through SQLAlchemy (its engine event) and on the driver
(`DriverStatement`, which SQLAlchemy's events do not see)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from backbone.kit.db import DriverStatement


@contextmanager
def selects(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_arguments: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    driver_rows = DriverStatement.rows

    def recorded(self: DriverStatement, session: Session, parameters: Any = None) -> list[tuple[Any, ...]]:
        seen.append(str(self.statement))
        return driver_rows(self, session, parameters)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with patch.object(DriverStatement, "rows", recorded):
            yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
