"""Development only (the outbox adapters): read what the SMS, e-mail and ARS adapters delivered,
and key digits in on the member's "phone" during an ARS call. Absent (404) otherwise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from backbone.identity import repository
from backbone.identity.attempts import counting
from backbone.identity.domain import normalise_phone
from backbone.identity.endpoints.common import DatabaseDep, IdentityDep
from backbone.identity.errors import DevelopmentOnly, InvalidMemberDetails
from backbone.identity.schemas import ArsCallOut, KeypadIn, OutboxMessageOut
from backbone.identity.service import Identity

router = APIRouter(prefix="/dev", tags=["identity: development"])
OUTBOX_LIMIT_MAX = 200


def _require_development(identity: Identity) -> None:
    if not identity.adapters.development:
        raise DevelopmentOnly("the development adapters are not in use")


def recipient_of(to: str) -> str:
    """A phone number in any common form, or an e-mail address, as the outbox stores it."""
    try:
        return normalise_phone(to)
    except InvalidMemberDetails:
        return to.strip()


@router.get("/outbox", summary="Messages the development adapters delivered, oldest first")
def outbox(
    database: DatabaseDep,
    identity: IdentityDep,
    to: Annotated[str | None, Query(max_length=254, description="A phone number or e-mail address")] = None,
    channel: Annotated[str | None, Query(pattern="^(sms|email|ars)$")] = None,
    limit: Annotated[int, Query(ge=1, le=OUTBOX_LIMIT_MAX)] = 20,
) -> list[OutboxMessageOut]:
    _require_development(identity)
    with database.reading() as session:
        messages = repository.outbox_messages(
            session, recipient=None if to is None else recipient_of(to), channel=channel, limit=limit
        )
    return [OutboxMessageOut.of(message) for message in messages]


@router.post("/ars/{call_id}/keypad", summary="Key digits in on the called phone")
def keypad(call_id: int, body: KeypadIn, database: DatabaseDep, identity: IdentityDep) -> ArsCallOut:
    _require_development(identity)

    def work(session: Session) -> ArsCallOut:
        return ArsCallOut.of(identity.ars.keypad(session, call_id=call_id, digits=body.digits))

    return counting(database, work)
