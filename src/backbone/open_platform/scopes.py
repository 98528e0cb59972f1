"""What an app may ask for. A scope is a promise to clients: its value never changes."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    ACCOUNT_READ = "account.read"  # balances, transactions, portfolio of the linked accounts
    WATCHLIST_READ = "watchlist.read"  # the member's watchlists at the linked accounts' firms
    MARKET_READ = "market.read"  # instruments, quotes, order books, candles (no member needed)


MEMBER_SCOPES = frozenset({Scope.ACCOUNT_READ, Scope.WATCHLIST_READ})


def parse_scopes(text: str | None) -> frozenset[Scope]:
    """The scopes in a space-separated string; unknown values raise ValueError."""
    return frozenset(Scope(part) for part in (text or "").split())


def format_scopes(scopes: frozenset[Scope] | set[Scope]) -> str:
    return " ".join(sorted(scope.value for scope in scopes))
