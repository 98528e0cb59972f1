"""The adapter for a firm that runs its own system and answers the platform's firm API over HTTP.

The firm API (JSON; the person travels in the `X-Personal-Identifier` header, never in a URL that
a proxy would log):

    GET {base}/capabilities                      {"capabilities": ["balance", ...]}
    GET {base}/accounts                          [{"number", "display_number", "account_type", "alias"}]
    GET {base}/accounts/{number}                 one account, or 404 when it is not this person's
    GET {base}/accounts/{number}/balance         {"cash_won", "cash_next_day_won", "cash_second_day_won",
                                                  "withdrawable_won", "buying_power_won", "positions": [...]}
    GET {base}/accounts/{number}/transactions    ?from=&to=&kind=&cursor=&limit=
                                                 {"items": [...], "next_cursor"}
    GET {base}/accounts/{number}/watchlist       [{"name", "instruments": [...]}]

A 404 is a refusal (not retried); a timeout, a connection failure, a 5xx or a malformed body is a
failure (retried by `resilience`). What the firm does not declare it supports is never asked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx

from backbone.open_platform.adapters.interface import (
    Capability,
    FirmAccount,
    FirmBalance,
    FirmError,
    FirmPosition,
    FirmRefusal,
    FirmRejectedCursor,
    FirmTransaction,
    FirmTransactionPage,
    FirmWatchlistGroup,
    TransactionKind,
    TransactionQuery,
)

PERSON_HEADER = "X-Personal-Identifier"
RESPONSE_BYTES_MAX = 4_194_304


class HttpFirm:
    def __init__(
        self, *, base_url: str, capabilities: frozenset[Capability], timeout_ms: int, client: httpx.Client
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._capabilities = capabilities
        self._timeout_s = timeout_ms / 1000
        self._client = client

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._capabilities

    def accounts(self, personal_identifier: str) -> list[FirmAccount]:
        body = self._get(personal_identifier, "/accounts")
        return [_account(item) for item in _list(body)]

    def account(self, personal_identifier: str, number: str) -> FirmAccount:
        return _account(_object(self._get(personal_identifier, f"/accounts/{_digits(number)}")))

    def balance(self, personal_identifier: str, number: str) -> FirmBalance:
        body = _object(self._get(personal_identifier, f"/accounts/{_digits(number)}/balance"))
        try:
            return FirmBalance(
                cash_won=_int(body["cash_won"]),
                cash_next_day_won=_int(body["cash_next_day_won"]),
                cash_second_day_won=_int(body["cash_second_day_won"]),
                withdrawable_won=_int(body["withdrawable_won"]),
                buying_power_won=_int(body["buying_power_won"]),
                positions=tuple(_position(_object(item)) for item in _list(body["positions"])),
            )
        except KeyError as error:
            raise FirmError(f"the firm's balance lacks {error}") from error

    def transactions(
        self, personal_identifier: str, number: str, query: TransactionQuery
    ) -> FirmTransactionPage:
        params: list[tuple[str, str | int | float | bool | None]] = [("limit", str(query.limit))]
        if query.since is not None:
            params.append(("from", query.since.isoformat()))
        if query.until is not None:
            params.append(("to", query.until.isoformat()))
        if query.cursor is not None:
            params.append(("cursor", query.cursor))
        for kind in query.kinds or ():
            params.append(("kind", kind.value))
        body = _object(self._get(personal_identifier, f"/accounts/{_digits(number)}/transactions", params))
        try:
            items = tuple(_transaction(_object(item)) for item in _list(body["items"]))
            cursor = body["next_cursor"]
        except (KeyError, ValueError) as error:
            raise FirmError(f"the firm's transactions are malformed: {error}") from error
        if cursor is not None and not isinstance(cursor, str):
            raise FirmError("the firm's cursor is not a string")
        return FirmTransactionPage(items=items, next_cursor=cursor)

    def watchlist(self, personal_identifier: str, number: str) -> list[FirmWatchlistGroup]:
        body = self._get(personal_identifier, f"/accounts/{_digits(number)}/watchlist")
        groups = []
        for item in _list(body):
            group = _object(item)
            instruments = _list(group.get("instruments"))
            groups.append(
                FirmWatchlistGroup(str(group.get("name", "")), tuple(str(code) for code in instruments))
            )
        return groups

    def _get(
        self,
        personal_identifier: str,
        path: str,
        params: list[tuple[str, str | int | float | bool | None]] | None = None,
    ) -> Any:
        try:
            response = self._client.get(
                f"{self._base_url}{path}",
                params=params,
                headers={PERSON_HEADER: personal_identifier},
                timeout=self._timeout_s,
            )
        except httpx.TimeoutException as error:
            raise FirmError("the firm did not answer in time", reason="timeout") from error
        except httpx.HTTPError as error:
            raise FirmError(f"the firm could not be reached: {type(error).__name__}") from error
        if (
            response.status_code in (400, 422)
            and params is not None
            and any(name == "cursor" for name, _ in params)
        ):
            raise FirmRejectedCursor(f"the firm refused the page cursor ({response.status_code})")
        if response.status_code in (400, 404, 422):
            raise FirmRefusal(f"the firm refused ({response.status_code})")
        if response.status_code != 200:
            raise FirmError(f"the firm answered {response.status_code}")
        if len(response.content) > RESPONSE_BYTES_MAX:
            raise FirmError("the firm's answer is too large")
        try:
            return response.json()
        except ValueError as error:
            raise FirmError("the firm's answer is not JSON") from error


def _digits(number: str) -> str:
    digits = number.replace("-", "")
    if not digits.isascii() or not digits.isdigit():
        raise FirmRefusal("not an account number")
    return digits


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise FirmError("the firm's answer is not a list where one is expected")
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FirmError("the firm's answer is not an object where one is expected")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FirmError(f"the firm sent {value!r} where a whole number is expected")
    return value


def _optional_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _account(value: Any) -> FirmAccount:
    item = _object(value)
    try:
        return FirmAccount(
            number=str(item["number"]),
            display_number=str(item.get("display_number") or item["number"]),
            account_type=str(item.get("account_type") or "general"),
            alias=str(item.get("alias") or ""),
        )
    except KeyError as error:
        raise FirmError(f"the firm's account lacks {error}") from error


def _position(item: dict[str, Any]) -> FirmPosition:
    try:
        return FirmPosition(
            instrument=str(item["instrument"]),
            quantity_micro=_int(item["quantity_micro"]),
            sellable_micro=_int(item.get("sellable_micro", item["quantity_micro"])),
            average_price_won=_optional_int(item.get("average_price_won")),
            cost_won=_int(item["cost_won"]),
            last_price_won=_optional_int(item.get("last_price_won")),
            valuation_won=_int(item["valuation_won"]),
            profit_won=_int(item["profit_won"]),
        )
    except KeyError as error:
        raise FirmError(f"the firm's position lacks {error}") from error


def _transaction(item: dict[str, Any]) -> FirmTransaction:
    settlement = item.get("settlement_date")
    return FirmTransaction(
        id=str(item["id"]),
        occurred_at=datetime.fromisoformat(str(item["occurred_at"])),
        kind=TransactionKind(item["kind"]),
        instrument=item.get("instrument"),
        quantity_micro=_optional_int(item.get("quantity_micro")),
        price_won=_optional_int(item.get("price_won")),
        amount_won=_optional_int(item.get("amount_won")),
        commission_won=_int(item.get("commission_won", 0)),
        tax_won=_int(item.get("tax_won", 0)),
        cash_won=_int(item.get("cash_won", 0)),
        settlement_date=None if settlement is None else date.fromisoformat(str(settlement)),
        memo=str(item.get("memo") or ""),
    )
