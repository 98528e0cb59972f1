"""From the adapters' shapes to the open API's: one mapping for every firm."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson

from backbone.exchange.instruments import Instrument
from backbone.kit.clock import SEOUL
from backbone.kit.money import Quantity
from backbone.open_platform.adapters.interface import FirmBalance, FirmTransaction, TransactionKind
from backbone.open_platform.api.schemas import (
    BalanceOut,
    FirmStatusOut,
    IntegratedAccountOut,
    IntegratedPortfolioOut,
    MixOut,
    PortfolioOut,
    PositionOut,
    TransactionOut,
)
from backbone.open_platform.inquiry import AccountBalance, FirmStatus
from backbone.open_platform.journey.domain import LinkedAccount

RATIO_PLACES = 4
SIDES = {TransactionKind.BUY: "buy", TransactionKind.SELL: "sell"}


def ratio(part: int, whole: int) -> str:
    """part / whole as a decimal string with four places, rounded half up; "0.0000" when whole is 0."""
    if whole <= 0:
        return "0.0000"
    scaled = (part * 10**RATIO_PLACES * 2 + whole) // (whole * 2)
    sign = "-" if scaled < 0 else ""
    whole_part, fraction = divmod(abs(scaled), 10**RATIO_PLACES)
    return f"{sign}{whole_part}.{fraction:0{RATIO_PLACES}d}"


def profit_rate(profit: int, cost: int) -> str | None:
    return None if cost <= 0 else ratio(profit, cost)


def balance_out(
    linked: LinkedAccount, balance: FirmBalance, instruments: dict[str, Instrument], now: datetime
) -> BalanceOut:
    return BalanceOut(
        virtual_account_number=linked.virtual_account.number,
        firm_code=linked.firm.code,
        cash_won=balance.cash_won,
        cash_next_day_won=balance.cash_next_day_won,
        cash_second_day_won=balance.cash_second_day_won,
        withdrawable_won=balance.withdrawable_won,
        buying_power_won=balance.buying_power_won,
        valuation_won=balance.valuation_won,
        cost_won=balance.cost_won,
        profit_won=balance.profit_won,
        profit_rate=profit_rate(balance.profit_won, balance.cost_won),
        total_assets_won=balance.total_assets_won,
        positions=[
            PositionOut(
                instrument=position.instrument,
                name_ko=_name(instruments, position.instrument, korean=True),
                name_en=_name(instruments, position.instrument, korean=False),
                quantity=str(Quantity(position.quantity_micro)),
                sellable_quantity=str(Quantity(position.sellable_micro)),
                average_price_won=position.average_price_won,
                cost_won=position.cost_won,
                last_price_won=position.last_price_won,
                valuation_won=position.valuation_won,
                profit_won=position.profit_won,
                profit_rate=profit_rate(position.profit_won, position.cost_won),
            )
            for position in balance.positions
        ],
        as_of=now.astimezone(SEOUL),
    )


def transaction_out(line: FirmTransaction) -> TransactionOut:
    return TransactionOut(
        id=line.id,
        occurred_at=line.occurred_at.astimezone(SEOUL),
        kind=line.kind,
        side=SIDES.get(line.kind),
        instrument=line.instrument,
        quantity=None if line.quantity_micro is None else str(Quantity(line.quantity_micro)),
        price_won=line.price_won,
        amount_won=line.amount_won,
        commission_won=line.commission_won,
        tax_won=line.tax_won,
        cash_won=line.cash_won,
        settlement_date=line.settlement_date,
        memo=line.memo or None,
    )


def mix(amounts: dict[str, int], names: dict[str, str | None], total: int) -> list[MixOut]:
    return [
        MixOut(key=key, name=names.get(key), amount_won=amount, ratio=ratio(amount, total))
        for key, amount in sorted(amounts.items(), key=lambda item: (-item[1], item[0]))
    ]


def portfolio_out(
    linked: LinkedAccount, balance: FirmBalance, instruments: dict[str, Instrument], now: datetime
) -> PortfolioOut:
    """자산 구성: cash (D+2, what the account will hold once everything settles) and securities at
    the last price, by instrument, market and sector."""
    cash = max(balance.cash_second_day_won, 0)
    securities = balance.valuation_won
    total = cash + securities
    by_instrument: dict[str, int] = defaultdict(int)
    by_market: dict[str, int] = defaultdict(int)
    by_sector: dict[str, int] = defaultdict(int)
    for position in balance.positions:
        by_instrument[position.instrument] += position.valuation_won
        listed = instruments.get(position.instrument)
        by_market[listed.market.value if listed else "unknown"] += position.valuation_won
        by_sector[listed.sector if listed else "unknown"] += position.valuation_won
    names = {code: _name(instruments, code, korean=True) for code in by_instrument}
    return PortfolioOut(
        virtual_account_number=linked.virtual_account.number,
        firm_code=linked.firm.code,
        total_won=total,
        cash_won=cash,
        cash_ratio=ratio(cash, total),
        securities_won=securities,
        securities_ratio=ratio(securities, total),
        by_instrument=mix(dict(by_instrument), names, total),
        by_market=mix(dict(by_market), {}, total),
        by_sector=mix(dict(by_sector), {}, total),
        as_of=now.astimezone(SEOUL),
    )


def _name(instruments: dict[str, Instrument], code: str, *, korean: bool) -> str | None:
    listed = instruments.get(code)
    if listed is None:
        return None
    return listed.name_ko if korean else listed.name_en


def integrated_out(
    answered: list[AccountBalance], instruments: dict[str, Instrument], now: datetime
) -> IntegratedPortfolioOut:
    """통합계좌조회: every linked account's balance, totals across them and a status per firm."""
    accounts_out = []
    cash = cash_second = valuation = cost = 0
    by_instrument: dict[str, int] = defaultdict(int)
    by_firm: dict[str, int] = defaultdict(int)
    firm_status: dict[str, FirmStatus] = {}
    for item in answered:
        code = item.linked.firm.code
        shaped = None if item.balance is None else balance_out(item.linked, item.balance, instruments, now)
        if item.balance is not None:
            cash += item.balance.cash_won
            cash_second += item.balance.cash_second_day_won
            valuation += item.balance.valuation_won
            cost += item.balance.cost_won
            by_firm[code] += item.balance.total_assets_won
            for position in item.balance.positions:
                by_instrument[position.instrument] += position.valuation_won
        if firm_status.get(code, FirmStatus.OK) is FirmStatus.OK:
            firm_status[code] = item.status
        accounts_out.append(
            IntegratedAccountOut(
                virtual_account_number=item.linked.virtual_account.number,
                firm_code=code,
                alias=item.linked.virtual_account.alias,
                status=item.status,
                balance=shaped,
            )
        )
    total = cash_second + valuation
    names: dict[str, str | None] = {
        code: (instruments[code].name_ko if code in instruments else None) for code in by_instrument
    }
    return IntegratedPortfolioOut(
        complete=all(item.status is FirmStatus.OK for item in answered),
        cash_won=cash,
        cash_second_day_won=cash_second,
        valuation_won=valuation,
        cost_won=cost,
        profit_won=valuation - cost,
        profit_rate=profit_rate(valuation - cost, cost),
        total_assets_won=total,
        by_instrument=mix(dict(by_instrument), names, max(valuation, 0)),
        by_firm=mix(dict(by_firm), {}, max(total, 0)),
        firms=[FirmStatusOut(firm_code=code, status=status) for code, status in sorted(firm_status.items())],
        accounts=accounts_out,
        as_of=now.astimezone(SEOUL),
    )


ShapeKey = tuple[tuple[str, str, str, FirmStatus, FirmBalance | None], ...]
SHAPES_KEPT_MAX = 100_000


class IntegratedShapes:
    """The integrated portfolio's JSON, shaped once per distinct answer.

    Shaping 50 positions into models and ratios cost more than reading them. The last shape is
    kept per member and app, with what it was built from: each account's number, alias, firm,
    status and balance object. The in-process firms hand out the very same balance object while
    nothing of the account moved (holdings, settlement days, prices), so the comparison is one of
    identity; an equal balance from elsewhere compares equal by value. Only `as_of` is stamped per
    call."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, int], tuple[ShapeKey, dict[str, Any]]] = {}

    def json(
        self,
        reader: tuple[int, int],
        answered: list[AccountBalance],
        instruments: dict[str, Instrument],
        now: datetime,
    ) -> bytes:
        key: ShapeKey = tuple(
            (
                item.linked.virtual_account.number,
                item.linked.virtual_account.alias,
                item.linked.firm.code,
                item.status,
                item.balance,
            )
            for item in answered
        )
        last = self._last.get(reader)
        if last is not None and last[0] == key:
            shaped = last[1]
        else:
            shaped = integrated_out(answered, instruments, now).model_dump(mode="json")
            if len(self._last) >= SHAPES_KEPT_MAX:
                self._last.clear()  # a bound on memory; forgetting only costs a shaping
            self._last[reader] = (key, shaped)
        return orjson.dumps(_stamped(shaped, now.astimezone(SEOUL).isoformat()))


def _stamped(shaped: dict[str, Any], as_of: str) -> dict[str, Any]:
    """A copy with `as_of` set at the top and in every balance (the shape is shared: not changed)."""
    accounts = [
        account
        if account["balance"] is None
        else {**account, "balance": {**account["balance"], "as_of": as_of}}
        for account in shaped["accounts"]
    ]
    return {**shaped, "accounts": accounts, "as_of": as_of}
