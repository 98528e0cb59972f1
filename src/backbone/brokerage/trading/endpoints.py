"""Orders and executions over HTTP, for a firm's own front ends. Placing, cancelling and modifying
wait for the order pipeline (admission, the venue, booking) and answer with the booked order, or
a problem+json refusal with a stable code and the order id when one was made."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from backbone.brokerage.customer_endpoints import BrokerageDep, owned_account
from backbone.brokerage.trading import history
from backbone.brokerage.trading.desk import (
    CancelRequest,
    ModifyRequest,
    PlaceRequest,
)
from backbone.brokerage.trading.desk import (
    Request as OrderRequest,
)
from backbone.brokerage.trading.domain import OrderRecord, OrderTicket
from backbone.brokerage.trading.errors import VenueUnavailable
from backbone.brokerage.trading.pipeline import OrderPipeline
from backbone.brokerage.trading.schemas import (
    ExecutionOut,
    ExecutionPage,
    ModifyIn,
    OrderIn,
    OrderOut,
    OrderPage,
)
from backbone.dependencies import DatabaseDep, IdempotencyKeyDep, OperatorDep, service
from backbone.errors import BackboneError
from backbone.identity.dependencies import CurrentMemberDep
from backbone.kit.clock import SEOUL, SimulatedClock

orders_router = APIRouter(prefix="/api/v1/brokerage", tags=["brokerage: orders"])


def _pipeline(request: Request) -> OrderPipeline:
    trading = service(request, "trading")
    if trading is None:
        raise VenueUnavailable("this server does not run the market; orders are not taken here")
    pipeline: OrderPipeline = trading.pipeline
    return pipeline


PipelineDep = Annotated[OrderPipeline, Depends(_pipeline)]


async def _run(pipeline: OrderPipeline, order_request: OrderRequest) -> OrderOut:
    outcome = await asyncio.wrap_future(pipeline.submit(order_request))
    if isinstance(outcome, BackboneError):
        raise outcome
    return OrderOut.of(outcome)


@orders_router.post(
    "/accounts/{account_id}/orders",
    status_code=status.HTTP_201_CREATED,
    summary="Place an order (the Idempotency-Key is the order's key: a retry places it once)",
)
async def place_order(
    account_id: int,
    body: OrderIn,
    member: CurrentMemberDep,
    idempotency_key: IdempotencyKeyDep,
    pipeline: PipelineDep,
) -> OrderOut:
    ticket = OrderTicket(
        instrument=body.instrument,
        side=body.side,
        order_type=body.order_type,
        time_in_force=body.time_in_force,
        price=body.price,
        quantity=body.quantity,
    )
    return await _run(pipeline, PlaceRequest(account_id, idempotency_key, ticket, member.personal_identifier))


@orders_router.post(
    "/accounts/{account_id}/orders/{order_id}/cancel", summary="Cancel an open order's remainder"
)
async def cancel_order(
    account_id: int,
    order_id: int,
    member: CurrentMemberDep,
    pipeline: PipelineDep,
) -> OrderOut:
    return await _run(pipeline, CancelRequest(account_id, order_id, member.personal_identifier))


@orders_router.post(
    "/accounts/{account_id}/orders/{order_id}/modify",
    summary="정정: a new price and/or open quantity (a decrease keeps priority)",
)
async def modify_order(
    account_id: int,
    order_id: int,
    body: ModifyIn,
    member: CurrentMemberDep,
    pipeline: PipelineDep,
) -> OrderOut:
    return await _run(
        pipeline, ModifyRequest(account_id, order_id, body.price, body.quantity, member.personal_identifier)
    )


@orders_router.get("/accounts/{account_id}/orders", summary="주문내역, newest first")
def list_orders(
    account_id: int,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    open_only: Annotated[bool, Query(alias="open", description="Only orders still open")] = False,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int | None, Query()] = None,
) -> OrderPage:
    account = owned_account(database, brokerage, member, account_id)
    with database.reading() as session:
        page = history.orders(session, account, open_only=open_only, cursor=cursor, limit=limit)
    return OrderPage(items=[OrderOut.of(order) for order in page.items], next_cursor=page.next_cursor)


@orders_router.get("/accounts/{account_id}/orders/{order_id}", summary="One order")
def get_order(
    account_id: int, order_id: int, member: CurrentMemberDep, database: DatabaseDep, brokerage: BrokerageDep
) -> OrderOut:
    account = owned_account(database, brokerage, member, account_id)
    with database.reading() as session:
        found: OrderRecord = history.order(session, account, order_id)
    return OrderOut.of(found)


@orders_router.get("/accounts/{account_id}/executions", summary="체결내역, newest first")
def list_executions(
    account_id: int,
    member: CurrentMemberDep,
    database: DatabaseDep,
    brokerage: BrokerageDep,
    order_id: Annotated[int | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int | None, Query()] = None,
) -> ExecutionPage:
    account = owned_account(database, brokerage, member, account_id)
    with database.reading() as session:
        page = history.executions(session, account, order_id=order_id, cursor=cursor, limit=limit)
    return ExecutionPage(
        items=[ExecutionOut.of(execution) for execution in page.items], next_cursor=page.next_cursor
    )


# --- operations: the session and (in demos and tests) the simulated clock -----------------------

operations_router = APIRouter(prefix="/api/backoffice/v1", tags=["back office"])


class ClockNotSimulated(BackboneError):
    status_code = 409
    code = "backbone.clock_not_simulated"
    title = "The clock is real"


class ClockAdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: StrictInt = Field(gt=0, le=31 * 86_400, description="How far to move the simulated clock")


class SessionOut(BaseModel):
    now: datetime
    simulated: bool
    phase: str | None = Field(description="The venue's session phase; null when this server runs no market")
    trading_day: date | None


def _session_state(request: Request) -> SessionOut:
    clock = service(request, "clock")
    trading = service(request, "trading")
    return SessionOut(
        now=clock.now().astimezone(SEOUL),
        simulated=isinstance(clock, SimulatedClock),
        phase=None if trading is None else trading.venue.phase.value,
        trading_day=None if trading is None else trading.venue.trading_day(),
    )


@operations_router.get("/session", summary="The clock and the market's session phase")
def session_state(request: Request, _operator: OperatorDep) -> SessionOut:
    return _session_state(request)


@operations_router.post(
    "/clock/advance", summary="Move a simulated clock on; the market follows its schedule"
)
async def advance_clock(request: Request, body: ClockAdvanceIn, _operator: OperatorDep) -> SessionOut:
    clock = service(request, "clock")
    if not isinstance(clock, SimulatedClock):
        raise ClockNotSimulated("this server runs on the real clock; set BACKBONE_SIMULATED_CLOCK_START")
    clock.advance(timedelta(seconds=body.seconds))
    trading = service(request, "trading")
    if trading is not None:
        await run_in_threadpool(trading.pipeline.advance_session)
    return _session_state(request)
