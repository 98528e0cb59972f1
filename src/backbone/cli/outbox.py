"""`backbone outbox`: what the development SMS, e-mail and ARS adapters delivered, and the called
phone's keypad."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from backbone.cli.context import console, container
from backbone.identity import repository
from backbone.identity.attempts import counting
from backbone.identity.endpoints.development import recipient_of
from backbone.kit.clock import SEOUL

app = typer.Typer(help="The development outbox: SMS, e-mail and ARS calls, as a phone would get them.")
LIMIT_MAX = 500


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    ARS = "ars"


@app.command("list")
def list_messages(
    to: Annotated[str | None, typer.Option("--to", help="A phone number (010-1234-5678) or e-mail")] = None,
    channel: Annotated[Channel | None, typer.Option(help="Only this channel")] = None,
    limit: Annotated[int, typer.Option(min=1, max=LIMIT_MAX, help="The newest N messages")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array, for scripts")] = False,
) -> None:
    """List delivered messages, oldest first."""
    resolved = container()
    with resolved.database.reading() as session:
        messages = repository.outbox_messages(
            session,
            recipient=None if to is None else recipient_of(to),
            channel=None if channel is None else channel.value,
            limit=limit,
        )
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": message.id,
                        "channel": message.channel,
                        "recipient": message.recipient,
                        "subject": message.subject,
                        "body": message.body,
                        "reference": message.reference,
                        "created_at": message.created_at.astimezone(SEOUL).isoformat(),
                    }
                    for message in messages
                ],
                ensure_ascii=False,
            )
        )
        return
    table = Table(title="outbox")
    for column in ("time (KST)", "channel", "to", "reference", "message"):
        table.add_column(column)
    for message in messages:
        table.add_row(
            message.created_at.astimezone(SEOUL).strftime("%m-%d %H:%M:%S"),
            message.channel,
            message.recipient,
            message.reference,
            message.body if message.channel != "email" else f"{message.subject}\n{message.body}",
        )
    console.print(table)


@app.command()
def keypad(
    call: Annotated[int, typer.Argument(help="The ARS call id (the outbox reference is ars:<id>)")],
    digits: Annotated[str, typer.Argument(help="The digits shown on the member's screen")],
) -> None:
    """Key digits in on the phone an ARS call rang."""
    resolved = container()
    answered = counting(
        resolved.database, lambda session: resolved.identity.ars.keypad(session, call_id=call, digits=digits)
    )
    console.print(f"ARS call {answered.id}: [bold]{answered.status.value}[/]")
