"""The trading screen (WTS): instrument search, a quote board, the live order book, trades and
candles (trading.js over the quotes WebSocket), an order ticket, open orders and the balance.

What changes money goes through the page's own forms, checked on the server by the order chain
itself (the pipeline's admission): a refusal lands beside the field it concerns, in the page's
language, with what was typed kept; nothing is written. htmx posts the forms and swaps the
ticket or the account panel in place; without scripts the same forms post and come back as whole
pages. Market data needs no login and arrives in the browser over the WebSocket.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, TypeVar, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from backbone.brokerage.domain import Account
from backbone.brokerage.holdings import Holdings
from backbone.brokerage.schemas import BalanceOut
from backbone.brokerage.service import Brokerage
from backbone.brokerage.trading import history
from backbone.brokerage.trading.desk import CancelRequest, ModifyRequest, PlaceRequest
from backbone.brokerage.trading.desk import Request as OrderRequest
from backbone.brokerage.trading.domain import OrderTicket
from backbone.brokerage.trading.errors import VenueUnavailable
from backbone.brokerage.trading.schemas import OrderOut
from backbone.brokerage.watchlists import Watchlists
from backbone.dependencies import service
from backbone.errors import BackboneError
from backbone.exchange.endpoints import QUERY_LENGTH_MAX, list_instruments
from backbone.exchange.instruments import Instrument
from backbone.exchange.orders import OrderType, Side, TimeInForce
from backbone.exchange.schemas import InstrumentOut
from backbone.identity.domain import CurrentMember
from backbone.web.forms import FORM, Form
from backbone.web.pages.common import DatabaseDep, PostedForm
from backbone.web.rendering import fragment, page, redirect
from backbone.web.security import form_token
from backbone.web.session import required_member

router = APIRouter(prefix="/trading")
Choice = TypeVar("Choice", Side, OrderType)

# The board when the account keeps no 관심종목 yet: the market's largest names.
DEFAULT_BOARD = ("005930", "000660", "373220", "207940", "005380", "035420")
BOARD_SIZE_MAX = 20
SEARCH_RESULTS_MAX = 20
OPEN_ORDERS_SHOWN_MAX = 100
WHOLE_NUMBER = re.compile(r"^\d{1,18}$")  # ids are 53-bit: up to 16 digits
# htmx events the answers raise: the other panel reloads itself (see trading.html).
ACCOUNT_CHANGED = "trading:account"
LIMITS_CHANGED = "trading:limits"

# Which ticket field a refusal of the order chain is about, by problem code.
TICKET_FIELDS: Mapping[str, str] = {
    "order.quantity_not_positive": "quantity",
    "order.quantity_above_maximum": "quantity",
    "order.value_above_maximum": "quantity",
    "order.insufficient_buying_power": "quantity",
    "order.insufficient_shares": "quantity",
    "order.price_required": "price",
    "order.price_with_market_order": "price",
    "order.price_off_tick": "price",
    "order.price_outside_limits": "price",
    "order.not_allowed_in_auction": "order_type",
    "brokerage.unknown_account": "account",
    "brokerage.account_closed": "account",
    "brokerage.unknown_instrument": "instrument",
    "market.unknown_instrument": "instrument",
}


def _instruments(request: Request) -> dict[str, Instrument]:
    return cast(dict[str, Instrument], service(request, "instruments"))


def _brokerage(request: Request) -> Brokerage:
    return cast(Brokerage, service(request, "brokerage"))


def _holdings(request: Request) -> Holdings:
    return cast(Holdings, service(request, "holdings"))


def _watchlists(request: Request) -> Watchlists:
    return cast(Watchlists, service(request, "watchlists"))


async def _submit(request: Request, order_request: OrderRequest) -> OrderOut:
    """Through the order pipeline, as the orders API does; a refusal is raised, typed."""
    trading = service(request, "trading")
    if trading is None:
        raise VenueUnavailable("this server does not run the market; orders are not taken here")
    outcome = await asyncio.wrap_future(trading.pipeline.submit(order_request))
    if isinstance(outcome, BackboneError):
        raise outcome
    return OrderOut.of(outcome)


def _refuse(form: Form, error: BackboneError) -> None:
    """The order chain's refusal beside its field, its amounts written as people read them."""
    parameters = {
        name: f"{value:,}" if isinstance(value, int) else value for name, value in error.extensions.items()
    }
    form.add(TICKET_FIELDS.get(error.code, FORM), f"errors.{error.code}", **parameters)


def _whole_number(form: Form, name: str, *, required: bool = True) -> int | None:
    text = form.values.get(name, "").replace(",", "")
    if not text:
        if required:
            form.add(name, "validation.required")
        return None
    if WHOLE_NUMBER.match(text) is None:
        form.add(name, "trading.validation.whole_number")
        return None
    return int(text)


def _choice(form: Form, name: str, kind: type[Choice]) -> Choice | None:
    try:
        return kind(form.values.get(name, ""))
    except ValueError:
        form.add(name, "validation.required")
        return None


# --- what the screen shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    """One account as the screen shows it: balance, open orders, and the names they mention."""

    account: Account
    balance: BalanceOut
    open_orders: list[OrderOut]

    def sellable(self, instrument: str) -> str:
        for position in self.balance.positions:
            if position.instrument == instrument:
                return position.sellable_quantity
        return "0"


def _account_view(
    request: Request, database: DatabaseDep, member: CurrentMember, account_id: int
) -> AccountView:
    brokerage, holdings = _brokerage(request), _holdings(request)
    with database.reading() as session:
        account = brokerage.account_of_person(session, member.personal_identifier, account_id)
        balance = BalanceOut.of(holdings.balance(session, account))
        found = history.orders(session, account, open_only=True, limit=OPEN_ORDERS_SHOWN_MAX)
    return AccountView(account, balance, [OrderOut.of(order) for order in found.items])


def _accounts(request: Request, database: DatabaseDep, member: CurrentMember) -> list[Account]:
    with database.reading() as session:
        return _brokerage(request).accounts_of_person(session, member.personal_identifier)


def _chosen_account(accounts: list[Account], wanted: int | None) -> Account | None:
    for account in accounts:
        if account.id == wanted:
            return account
    return accounts[0] if accounts else None


def _board(
    request: Request, database: DatabaseDep, account: Account | None, chosen: str
) -> list[InstrumentOut]:
    """The quote board: the account's first 관심종목 group, else the default names; the chosen
    instrument always on it."""
    instruments = _instruments(request)
    codes: list[str] = list(DEFAULT_BOARD)
    if account is not None:
        with database.reading() as session:
            groups = _watchlists(request).groups(session, account.customer_id)
        if groups and groups[0].instruments:
            codes = list(groups[0].instruments)
    if chosen not in codes:
        codes.insert(0, chosen)
    return [InstrumentOut.of(instruments[code]) for code in codes[:BOARD_SIZE_MAX] if code in instruments]


def _instrument(request: Request, code: str | None) -> InstrumentOut:
    instruments = _instruments(request)
    if code is not None and code in instruments:
        return InstrumentOut.of(instruments[code])
    fallback = DEFAULT_BOARD[0] if DEFAULT_BOARD[0] in instruments else next(iter(instruments))
    return InstrumentOut.of(instruments[fallback])


def _search(request: Request, query: str) -> list[InstrumentOut]:
    if not query.strip():
        return []
    # The market router's own search: one rule for the API and the screen.
    return list_instruments(_instruments(request), market=None, q=query)[:SEARCH_RESULTS_MAX]


def _new_ticket(side: str = Side.BUY.value, price: int | None = None) -> Form:
    # The order key makes a double submission place one order (the desk's idempotency).
    return Form(
        values={
            "side": side,
            "order_type": OrderType.LIMIT.value,
            "price": "" if price is None else str(price),
            "quantity": "",
            "order_key": secrets.token_urlsafe(12),
        }
    )


def _screen(
    request: Request,
    database: DatabaseDep,
    member: CurrentMember,
    *,
    account_id: int | None,
    code: str | None,
    query: str = "",
    ticket: Form | None = None,
    modify_errors: Mapping[int, Form] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    accounts = _accounts(request, database, member)
    account = _chosen_account(accounts, account_id)
    instrument = _instrument(request, code)
    view = None if account is None else _account_view(request, database, member, account.id)
    return page(
        request,
        "pages/trading/index.html",
        status=status,
        member=member,
        accounts=accounts,
        view=view,
        instrument=instrument,
        board=_board(request, database, account, instrument.code),
        query=query,
        results=_search(request, query),
        ticket=ticket or _new_ticket(price=instrument.base_price),
        modify_errors=modify_errors or {},
        notice=notice,
        names=_names(request),
    )


def _names(request: Request) -> dict[str, tuple[str, str]]:
    return {code: (item.name_ko, item.name_en) for code, item in _instruments(request).items()}


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _with_event(response: Response, event: str) -> Response:
    response.headers["HX-Trigger"] = event
    return response


def _screen_url(account_id: int | None, code: str) -> str:
    account = "" if account_id is None else f"account={account_id}&"
    return f"/trading?{account}instrument={code}"


# --- pages and fragments ------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def trading_screen(
    request: Request,
    database: DatabaseDep,
    account: Annotated[int | None, Query()] = None,
    instrument: Annotated[str | None, Query(max_length=6)] = None,
    q: Annotated[str, Query(max_length=QUERY_LENGTH_MAX)] = "",
) -> HTMLResponse:
    member = required_member(request)
    return _screen(request, database, member, account_id=account, code=instrument, query=q)


@router.get("/search", response_class=HTMLResponse)
def search_results(
    request: Request,
    account: Annotated[int | None, Query()] = None,
    q: Annotated[str, Query(max_length=QUERY_LENGTH_MAX)] = "",
) -> HTMLResponse:
    required_member(request)
    return fragment(
        request,
        "pages/trading/search_results.html",
        results=_search(request, q),
        query=q,
        account_id=account,
    )


@router.get("/account", response_class=HTMLResponse)
def account_panel(
    request: Request,
    database: DatabaseDep,
    account: int,
    instrument: Annotated[str, Query(max_length=6)],
) -> HTMLResponse:
    member = required_member(request)
    view = _account_view(request, database, member, account)
    return _account_fragment(request, view, _instrument(request, instrument))


@router.get("/limits", response_class=HTMLResponse)
def ticket_limits(
    request: Request,
    database: DatabaseDep,
    account: int,
    instrument: Annotated[str, Query(max_length=6)],
) -> HTMLResponse:
    member = required_member(request)
    view = _account_view(request, database, member, account)
    chosen = _instrument(request, instrument)
    return fragment(request, "pages/trading/limits.html", view=view, instrument=chosen)


def _account_fragment(
    request: Request,
    view: AccountView,
    instrument: InstrumentOut,
    *,
    modify_errors: Mapping[int, Form] | None = None,
    notice: str = "",
) -> HTMLResponse:
    return fragment(
        request,
        "pages/trading/account.html",
        view=view,
        instrument=instrument,
        modify_errors=modify_errors or {},
        notice=notice,
        names=_names(request),
        csrf_token=form_token(request),
    )


def _ticket_fragment(
    request: Request, view: AccountView, instrument: InstrumentOut, ticket: Form, notice: str = ""
) -> HTMLResponse:
    return fragment(
        request,
        "pages/trading/ticket.html",
        view=view,
        instrument=instrument,
        ticket=ticket,
        notice=notice,
        csrf_token=form_token(request),
    )


@router.post("/orders", response_class=HTMLResponse)
async def place_order(request: Request, database: DatabaseDep, form: PostedForm) -> Response:
    member = required_member(request)
    account_id = _whole_number(form, "account")
    code = form.values.get("instrument", "")
    instrument = _instrument(request, code)
    if code != instrument.code:
        form.add("instrument", "errors.market.unknown_instrument")
    order_request = _place_request(form, account_id, instrument.code, member)
    notice = ""
    if order_request is not None:
        try:
            placed = await _submit(request, order_request)
        except BackboneError as error:
            _refuse(form, error)
        else:
            notice = f"trading.ticket.placed.{placed.status.value}"
    if not _is_htmx(request) or account_id is None:
        if form.valid:
            return redirect(request, _screen_url(account_id, instrument.code))
        return _screen(
            request, database, member, account_id=account_id, code=instrument.code, ticket=form, status=422
        )
    view = _account_view(request, database, member, account_id)
    if not form.valid:
        # 200 for htmx, which swaps only successful answers: the errors are the content.
        return _ticket_fragment(request, view, instrument, form)
    price = None if order_request is None else order_request.ticket.price
    fresh = _new_ticket(side=form.values.get("side", Side.BUY.value), price=price)
    return _with_event(_ticket_fragment(request, view, instrument, fresh, notice), ACCOUNT_CHANGED)


def _place_request(
    form: Form, account_id: int | None, code: str, member: CurrentMember
) -> PlaceRequest | None:
    side = _choice(form, "side", Side)
    order_type = _choice(form, "order_type", OrderType)
    price = _whole_number(form, "price", required=order_type is OrderType.LIMIT)
    if order_type is OrderType.MARKET:
        price = None  # a market order carries no price: the ticket disables the field
    quantity = _whole_number(form, "quantity")
    key = form.values.get("order_key", "")
    if not key:
        form.add(FORM, "trading.validation.order_key")
    if not form.valid or account_id is None or side is None or order_type is None or quantity is None:
        return None
    ticket = OrderTicket(
        instrument=code,
        side=side,
        order_type=order_type,
        time_in_force=TimeInForce.DAY,
        price=price,
        quantity=quantity,
    )
    return PlaceRequest(account_id, key, ticket, member.personal_identifier)


async def _change_order(
    request: Request, database: DatabaseDep, form: PostedForm, order_id: int, *, modify: bool
) -> Response:
    member = required_member(request)
    account_id = _whole_number(form, "account")
    instrument = _instrument(request, form.values.get("instrument"))
    notice = ""
    if account_id is not None:
        order_request: OrderRequest | None = CancelRequest(account_id, order_id, member.personal_identifier)
        if modify:
            price = _whole_number(form, "price", required=False)
            quantity = _whole_number(form, "quantity", required=False)
            order_request = (
                ModifyRequest(account_id, order_id, price, quantity, member.personal_identifier)
                if form.valid
                else None
            )
        if order_request is not None:
            try:
                await _submit(request, order_request)
            except BackboneError as error:
                _refuse(form, error)
            else:
                notice = "trading.orders.modified" if modify else "trading.orders.cancelled"
    errors = {} if form.valid else {order_id: form}
    if not _is_htmx(request) or account_id is None:
        if form.valid:
            return redirect(request, _screen_url(account_id, instrument.code))
        return _screen(
            request,
            database,
            member,
            account_id=account_id,
            code=instrument.code,
            modify_errors=errors,
            status=422,
        )
    view = _account_view(request, database, member, account_id)
    answer = _account_fragment(request, view, instrument, modify_errors=errors, notice=notice)
    return _with_event(answer, LIMITS_CHANGED) if form.valid else answer


@router.post("/orders/{order_id}/cancel", response_class=HTMLResponse)
async def cancel_order(request: Request, database: DatabaseDep, form: PostedForm, order_id: int) -> Response:
    return await _change_order(request, database, form, order_id, modify=False)


@router.post("/orders/{order_id}/modify", response_class=HTMLResponse)
async def modify_order(request: Request, database: DatabaseDep, form: PostedForm, order_id: int) -> Response:
    return await _change_order(request, database, form, order_id, modify=True)
