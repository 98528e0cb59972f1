"""Typed refusals of the ledger. Each leaves storage exactly as it was."""

from __future__ import annotations

from backbone.errors import BackboneError


class LedgerError(BackboneError):
    code = "ledger.error"
    title = "The ledger refused the movement"


class AmountNotPositive(LedgerError):
    """Amounts are whole positive numbers of the asset's smallest unit."""

    status_code = 422
    code = "ledger.amount_not_positive"
    title = "The amount must be positive"


class AmountTooLarge(LedgerError):
    """No single movement may exceed the ledger's limit (10^15 units)."""

    status_code = 422
    code = "ledger.amount_too_large"
    title = "The amount is beyond the limit"


class TooManyLegs(LedgerError):
    status_code = 422
    code = "ledger.too_many_legs"
    title = "The transfer has too many legs"


class UnbalancedTransfer(LedgerError):
    """The legs of a transfer must sum to zero for each asset."""

    status_code = 422
    code = "ledger.unbalanced_transfer"
    title = "The transfer does not balance"


class UnknownLedgerAccount(LedgerError):
    status_code = 404
    code = "ledger.unknown_account"
    title = "Unknown ledger account"


class UnknownAsset(LedgerError):
    status_code = 422
    code = "ledger.unknown_asset"
    title = "Unknown asset"


class AssetMismatch(LedgerError):
    """A leg moves a different asset from the one its account holds (say, won into a share account)."""

    status_code = 422
    code = "ledger.asset_mismatch"
    title = "The asset does not match the account"


class InsufficientFunds(LedgerError):
    """The movement would take an account below what it may hold (zero for customers)."""

    status_code = 409
    code = "ledger.insufficient_funds"
    title = "Insufficient funds"


class IdempotencyKeyReused(LedgerError):
    """The idempotency key was already used for a different request."""

    status_code = 422
    code = "ledger.idempotency_key_reused"
    title = "The idempotency key was used for a different request"


class InvalidIdempotencyKey(LedgerError):
    status_code = 422
    code = "ledger.invalid_idempotency_key"
    title = "The idempotency key is not valid"


class UnknownHold(LedgerError):
    status_code = 404
    code = "ledger.unknown_hold"
    title = "Unknown hold"


class DrawDoesNotMatchLegs(LedgerError):
    """Held balances move only through their holds, and a hold gives no more than it has left."""

    status_code = 409
    code = "ledger.hold_draw_mismatch"
    title = "The hold cannot cover this movement"
