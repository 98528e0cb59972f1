"""Typed refusals of the open platform, each with its status and a stable code.

`platform.*` codes are the portal's, the business side's and the open API's; `oauth.*` codes are
the authorization server's where it answers with problem+json (its token, revocation and
introspection endpoints answer with RFC 6749 error JSON instead, as the RFCs require).
"""

from __future__ import annotations

from backbone.errors import BackboneError


class PlatformError(BackboneError):
    code = "platform.error"
    title = "The open platform refused the request"


# --- companies and apps -------------------------------------------------------------------------


class InvalidCompany(PlatformError):
    status_code = 422
    code = "platform.invalid_company"
    title = "The company's details are not valid"


class CompanyExists(PlatformError):
    status_code = 409
    code = "platform.company_exists"
    title = "A company with this business registration number exists"


class InvalidApp(PlatformError):
    status_code = 422
    code = "platform.invalid_app"
    title = "The app's registration is not valid"


class UnknownApp(PlatformError):
    status_code = 404
    code = "platform.unknown_app"
    title = "Unknown app"


class AppNotInProduction(PlatformError):
    """Members use only apps the operator has approved; a sandbox app has market data only."""

    status_code = 403
    code = "platform.app_not_in_production"
    title = "The app is not approved for production"


class AppStateConflict(PlatformError):
    status_code = 409
    code = "platform.app_state_conflict"
    title = "The app is not in a state that allows this"


class CompanyKeyRejected(PlatformError):
    status_code = 401
    code = "platform.company_key_rejected"
    title = "The company API key is missing or not valid"


# --- firms --------------------------------------------------------------------------------------


class UnknownFirm(PlatformError):
    status_code = 404
    code = "platform.unknown_firm"
    title = "Unknown securities firm"


class FirmExists(PlatformError):
    status_code = 409
    code = "platform.firm_exists"
    title = "The firm is already registered on the platform"


class InvalidFirm(PlatformError):
    status_code = 422
    code = "platform.invalid_firm"
    title = "The firm's registration is not valid"


class CapabilityMissing(PlatformError):
    """The firm's adapter does not offer this; the same answer for every app and member."""

    status_code = 501
    code = "platform.capability_missing"
    title = "The securities firm does not support this"


class FirmUnavailable(PlatformError):
    """The firm did not answer in time, failed, or its circuit breaker is open."""

    status_code = 503
    code = "platform.firm_unavailable"
    title = "The securities firm is not answering"


# --- the investor's journey ---------------------------------------------------------------------


class NotAMember(PlatformError):
    status_code = 404
    code = "platform.not_applied"
    title = "The member has not applied to use this app"


class AlreadyApplied(PlatformError):
    status_code = 409
    code = "platform.already_applied"
    title = "The member already uses this app"


class AccountNotOwned(PlatformError):
    """The firm does not know this account as the member's (or at all): the same answer for both,
    so the platform cannot be used to probe other people's account numbers."""

    status_code = 404
    code = "platform.account_not_found_at_firm"
    title = "The firm has no such account of yours"


class VirtualAccountExists(PlatformError):
    status_code = 409
    code = "platform.virtual_account_exists"
    title = "A virtual account for this account exists"


class UnknownVirtualAccount(PlatformError):
    """Unknown, malformed, another member's, or not linked to the calling app: one answer for all,
    so nobody learns whether a number exists."""

    status_code = 404
    code = "platform.unknown_virtual_account"
    title = "Unknown virtual account"


class InvalidVirtualAccountNumber(PlatformError):
    status_code = 422
    code = "platform.invalid_virtual_account_number"
    title = "A virtual account number is 18 digits with a valid check digit"


class InvalidAlias(PlatformError):
    status_code = 422
    code = "platform.invalid_alias"
    title = "The alias is not valid"


class LinkRefused(PlatformError):
    status_code = 409
    code = "platform.link_refused"
    title = "The account cannot be linked to the app"


class LimitExceeded(PlatformError):
    status_code = 422
    code = "platform.limit_exceeded"
    title = "A limit of the platform was reached"


# --- consents -----------------------------------------------------------------------------------


class UnknownConsent(PlatformError):
    status_code = 404
    code = "platform.unknown_consent"
    title = "Unknown consent"


class ConsentRequired(PlatformError):
    """A consent the step needs is missing; `missing` names which."""

    status_code = 403
    code = "platform.consent_required"
    title = "A signed consent is required"


class ConsentExpired(PlatformError):
    status_code = 403
    code = "platform.consent_expired"
    title = "The consent has expired"


class ConsentRevoked(PlatformError):
    status_code = 403
    code = "platform.consent_revoked"
    title = "The consent was revoked"


class ConsentStillValid(PlatformError):
    """Re-consent opens a month before expiry; until then the consent in force stands."""

    status_code = 409
    code = "platform.consent_still_valid"
    title = "A valid consent exists; renewal opens a month before it expires"


class ConsentTransitionRefused(PlatformError):
    status_code = 409
    code = "platform.consent_transition_refused"
    title = "The consent cannot change that way"


class UnknownConsentRequest(PlatformError):
    status_code = 404
    code = "platform.unknown_consent_request"
    title = "Unknown consent request"


class ConsentRequestUsed(PlatformError):
    status_code = 409
    code = "platform.consent_request_used"
    title = "The consent request is already completed or expired"


class ConsentMethodRefused(PlatformError):
    status_code = 422
    code = "platform.consent_method_refused"
    title = "This consent cannot be given that way"


class JourneyIncomplete(PlatformError):
    """The authorization endpoint's answer when the member has not finished the journey for the
    app: `missing` lists the steps left, for the portal to lead the member through them."""

    status_code = 403
    code = "platform.journey_incomplete"
    title = "The member has not completed the steps to use this app"


# --- the open API -------------------------------------------------------------------------------


class TokenRejected(PlatformError):
    status_code = 401
    code = "oauth.invalid_token"
    title = "The access token is missing, expired, revoked or not valid"


class InsufficientScope(PlatformError):
    status_code = 403
    code = "oauth.insufficient_scope"
    title = "The access token lacks the scope this needs"


class MemberTokenRequired(PlatformError):
    status_code = 403
    code = "oauth.member_token_required"
    title = "This needs a token a member authorized, not an app-only token"


class AuthorizationRefused(PlatformError):
    """The authorization request cannot be answered by a redirect (unknown client or redirect URI)."""

    status_code = 400
    code = "oauth.invalid_request"
    title = "The authorization request is not valid"


class QuotaExceeded(PlatformError):
    status_code = 429
    code = "platform.quota_exceeded"
    title = "The app's daily quota is used up"


class RateLimited(PlatformError):
    status_code = 429
    code = "platform.rate_limited"
    title = "Too many requests in a short time"


class UnknownInstrument(PlatformError):
    status_code = 404
    code = "platform.unknown_instrument"
    title = "Unknown instrument"


class InvalidWebhook(PlatformError):
    status_code = 422
    code = "platform.invalid_webhook"
    title = "The webhook URL is not valid"
