"""Typed refusals of authentication. Each carries its HTTP status and a stable code (`identity.…`).

`AttemptRefused` marks a refusal that is itself an authentication attempt (a wrong code, PIN,
signature or passkey): the service records the attempt before raising, and the boundary commits
that record (`backbone.identity.attempts.counting`) instead of rolling it back.
"""

from __future__ import annotations

from backbone.errors import BackboneError


class IdentityError(BackboneError):
    code = "identity.error"
    title = "Authentication refused the request"


class AttemptRefused(IdentityError):
    """An authentication attempt that failed; the failure is recorded, then raised."""

    status_code = 401
    code = "identity.attempt_refused"
    title = "The authentication attempt failed"


# --- input --------------------------------------------------------------------------------------


class InvalidMemberDetails(IdentityError):
    status_code = 422
    code = "identity.invalid_details"
    title = "The member's details are not valid"


class TermsNotAccepted(IdentityError):
    """Every required term, at its current version, must be accepted."""

    status_code = 422
    code = "identity.terms_not_accepted"
    title = "The required terms are not accepted"


class WeakPin(IdentityError):
    status_code = 422
    code = "identity.weak_pin"
    title = "The PIN is too easy to guess"


class InvalidPinFormat(IdentityError):
    status_code = 422
    code = "identity.invalid_pin"
    title = "A PIN is six digits"


# --- members and verification -------------------------------------------------------------------


class UnknownMember(IdentityError):
    status_code = 404
    code = "identity.unknown_member"
    title = "Unknown member"


class AlreadyMember(IdentityError):
    """One member per personal identifier: this person has already signed up."""

    status_code = 409
    code = "identity.already_member"
    title = "This person is already a member"


class PhoneInUse(IdentityError):
    status_code = 409
    code = "identity.phone_in_use"
    title = "The phone number belongs to another member"


class UnknownVerification(IdentityError):
    status_code = 404
    code = "identity.unknown_verification"
    title = "No identity verification is in progress"


class VerificationStateConflict(IdentityError):
    """The step asked for does not follow from where the verification stands."""

    status_code = 409
    code = "identity.verification_state"
    title = "The verification is not at this step"


class VerificationExpired(IdentityError):
    status_code = 410
    code = "identity.verification_expired"
    title = "The verification has expired; start again"


class CodeWrong(AttemptRefused):
    status_code = 422
    code = "identity.code_wrong"
    title = "The code is wrong"


class CodeExpired(IdentityError):
    status_code = 410
    code = "identity.code_expired"
    title = "The code has expired; ask for a new one"


class CodeUsed(IdentityError):
    status_code = 409
    code = "identity.code_used"
    title = "The code has already been used"


class CodeAttemptsExhausted(AttemptRefused):
    """Too many wrong codes: the verification is over, whatever is typed next."""

    status_code = 429
    code = "identity.code_attempts_exhausted"
    title = "Too many wrong codes; start again"


class ResendsExhausted(IdentityError):
    status_code = 429
    code = "identity.resends_exhausted"
    title = "No more codes can be sent for this verification"


class IdentityMismatch(IdentityError):
    """The verified person is not the member this verification is for."""

    status_code = 403
    code = "identity.identity_mismatch"
    title = "The verified person is not this member"


class IdentityProviderRefused(IdentityError):
    status_code = 422
    code = "identity.provider_refused"
    title = "The identity provider could not verify this person"


# --- PIN ----------------------------------------------------------------------------------------


class PinWrong(AttemptRefused):
    code = "identity.pin_wrong"
    title = "The PIN is wrong"


class PinLocked(AttemptRefused):
    """Locked after too many wrong PINs; verifying identity again (SMS) unlocks it."""

    status_code = 423
    code = "identity.pin_locked"
    title = "The PIN is locked; verify your identity to set a new one"


class PinNotSet(IdentityError):
    status_code = 409
    code = "identity.pin_not_set"
    title = "No PIN is set"


class LoginFailed(AttemptRefused):
    """Deliberately vague: the phone is unknown, or the credential does not match."""

    code = "identity.login_failed"
    title = "The login failed"


# --- sessions, CSRF, step-up --------------------------------------------------------------------


class NotAuthenticated(IdentityError):
    status_code = 401
    code = "identity.not_authenticated"
    title = "Log in first"


class SessionExpired(IdentityError):
    status_code = 401
    code = "identity.session_expired"
    title = "The session has expired; log in again"


class CsrfRejected(IdentityError):
    status_code = 403
    code = "identity.csrf_rejected"
    title = "The request lacks this session's CSRF token"


class StepUpRequired(IdentityError):
    """The operation needs stronger or fresher proof; `accepted` lists what would do."""

    status_code = 403
    code = "identity.step_up_required"
    title = "Stronger authentication is required"


class UnknownDevice(IdentityError):
    status_code = 404
    code = "identity.unknown_device"
    title = "Unknown device"


# --- certificates and signatures ----------------------------------------------------------------


class InvalidCsr(IdentityError):
    status_code = 422
    code = "identity.invalid_csr"
    title = "The certificate signing request is not valid"


class UnsupportedAlgorithm(IdentityError):
    """Keys are RSA-2048 or ECDSA P-256; digests are SHA-256."""

    status_code = 422
    code = "identity.unsupported_algorithm"
    title = "The key or signature algorithm is not accepted"


class PayloadTooLarge(IdentityError):
    status_code = 413
    code = "identity.payload_too_large"
    title = "The submitted object is too large"


class UnknownCertificate(IdentityError):
    status_code = 404
    code = "identity.unknown_certificate"
    title = "Unknown certificate"


class CertificateRevoked(AttemptRefused):
    status_code = 403
    code = "identity.certificate_revoked"
    title = "The certificate is revoked"


class CertificateExpired(AttemptRefused):
    status_code = 403
    code = "identity.certificate_expired"
    title = "The certificate is not valid at this time"


class CertificateForeign(AttemptRefused):
    """Not issued by the Backbone certificate authority, or not the member's own."""

    status_code = 403
    code = "identity.certificate_foreign"
    title = "The certificate was not issued to this member by Backbone"


class TooManyCertificates(IdentityError):
    status_code = 409
    code = "identity.too_many_certificates"
    title = "The member holds the most certificates allowed"


class NonceMismatch(AttemptRefused):
    """The signed document carries another challenge's nonce."""

    status_code = 403
    code = "identity.nonce_mismatch"
    title = "The signed nonce is not this challenge's"


class CertificateAlreadyRevoked(IdentityError):
    status_code = 409
    code = "identity.certificate_already_revoked"
    title = "The certificate is already revoked"


class InvalidSignedData(AttemptRefused):
    """The CMS blob cannot be parsed, or is not attached SHA-256 SignedData with one signer."""

    status_code = 422
    code = "identity.invalid_signed_data"
    title = "The signed data is not valid CMS SignedData"


class SignatureInvalid(AttemptRefused):
    status_code = 403
    code = "identity.signature_invalid"
    title = "The signature does not verify"


class SignedTextMismatch(AttemptRefused):
    """The signature is sound but over a document other than the one issued."""

    status_code = 403
    code = "identity.signed_text_mismatch"
    title = "The signed document is not the one issued"


class UnknownChallenge(AttemptRefused):
    status_code = 404
    code = "identity.unknown_challenge"
    title = "No such challenge was issued"


class ChallengeExpired(IdentityError):
    status_code = 410
    code = "identity.challenge_expired"
    title = "The challenge has expired"


class ChallengeUsed(IdentityError):
    """A nonce is good for one signature or one ceremony."""

    status_code = 409
    code = "identity.challenge_used"
    title = "The challenge has already been used"


class ChallengeAttemptsExhausted(AttemptRefused):
    status_code = 429
    code = "identity.challenge_attempts_exhausted"
    title = "Too many failed attempts on this challenge"


class UnknownSignature(IdentityError):
    status_code = 404
    code = "identity.unknown_signature"
    title = "Unknown signature"


# --- passkeys -----------------------------------------------------------------------------------


class PasskeyRejected(AttemptRefused):
    """The WebAuthn response does not verify: bad signature, counter, origin, challenge or data."""

    status_code = 403
    code = "identity.passkey_rejected"
    title = "The passkey response was rejected"


class UnknownPasskey(AttemptRefused):
    status_code = 404
    code = "identity.unknown_passkey"
    title = "Unknown passkey"


class TooManyPasskeys(IdentityError):
    status_code = 409
    code = "identity.too_many_passkeys"
    title = "The member has registered the most passkeys allowed"


class PasskeyAlreadyRegistered(IdentityError):
    status_code = 409
    code = "identity.passkey_exists"
    title = "This passkey is already registered"


# --- ARS ----------------------------------------------------------------------------------------


class UnknownArsCall(IdentityError):
    status_code = 404
    code = "identity.unknown_ars_call"
    title = "Unknown ARS call"


class ArsDigitsWrong(AttemptRefused):
    status_code = 422
    code = "identity.ars_digits_wrong"
    title = "The digits keyed in are wrong"


class ArsCallOver(IdentityError):
    """The call was answered, failed or timed out; start a new one."""

    status_code = 409
    code = "identity.ars_call_over"
    title = "The ARS call is over"


class ArsNotConfirmed(IdentityError):
    status_code = 409
    code = "identity.ars_not_confirmed"
    title = "The ARS call is not confirmed"


class DevelopmentOnly(IdentityError):
    status_code = 404
    code = "identity.development_only"
    title = "Only the development adapters offer this"
