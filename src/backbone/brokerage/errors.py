"""Typed refusals of the brokerage core."""

from __future__ import annotations

from backbone.errors import BackboneError


class BrokerageError(BackboneError):
    code = "brokerage.error"
    title = "The brokerage refused the request"


class UnknownFirm(BrokerageError):
    status_code = 404
    code = "brokerage.unknown_firm"
    title = "Unknown securities firm"


class FirmAlreadyExists(BrokerageError):
    status_code = 409
    code = "brokerage.firm_exists"
    title = "A firm with this code exists"


class InvalidFirmCode(BrokerageError):
    status_code = 422
    code = "brokerage.invalid_firm_code"
    title = "The firm code is not valid"


class InvalidAccountNumberFormat(BrokerageError):
    status_code = 422
    code = "brokerage.invalid_account_number_format"
    title = "The account number pattern is not valid"


class InvalidAccountNumber(BrokerageError):
    """The number does not have the firm's form, or its check digit is wrong."""

    status_code = 422
    code = "brokerage.invalid_account_number"
    title = "The account number is not valid"


class UnknownAccount(BrokerageError):
    status_code = 404
    code = "brokerage.unknown_account"
    title = "Unknown account"


class UnknownCustomer(BrokerageError):
    status_code = 404
    code = "brokerage.unknown_customer"
    title = "Unknown customer"


class AccountClosed(BrokerageError):
    status_code = 409
    code = "brokerage.account_closed"
    title = "The account is closed"


class UnknownInstrument(BrokerageError):
    status_code = 404
    code = "brokerage.unknown_instrument"
    title = "Unknown instrument"


class ExceedsWithdrawable(BrokerageError):
    """A withdrawal may take only what is withdrawable (출금가능금액): not held for orders, not
    committed to unsettled trades."""

    status_code = 409
    code = "brokerage.exceeds_withdrawable"
    title = "The amount exceeds what can be withdrawn"


class SameAccount(BrokerageError):
    status_code = 422
    code = "brokerage.same_account"
    title = "A transfer needs two different accounts"


class InvalidCustomerDetails(BrokerageError):
    status_code = 422
    code = "brokerage.invalid_customer"
    title = "The customer's details are not valid"


class InvalidCommission(BrokerageError):
    status_code = 422
    code = "brokerage.invalid_commission"
    title = "The commission rate is not valid"
