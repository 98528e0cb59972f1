"""Signed documents: canonical JSON in CMS SignedData (RFC 5652), attached, SHA-256.

`cryptography` signs PKCS#7 but cannot verify it, so SignedData is parsed with `asn1crypto` and
every check is made here with `cryptography`'s primitives:

- the structure: SignedData whose encapsulated content is `data` and present (attached), exactly
  one signer, SHA-256 as the digest;
- the signed attributes (required): content-type = data, message-digest = SHA-256 of the content,
  signing-time; in DER order, because OpenSSL re-encodes them before checking the signature, and
  we accept nothing that `openssl cms -verify` would refuse;
- the signature over the attributes: RSASSA-PKCS1-v1_5 with an RSA-2048 key, or ECDSA P-256, both
  with SHA-256, by the certificate that the signer identifier names, carried in the SignedData.

Whether that certificate chains to Backbone's authority, is valid and unrevoked is the
authority's question, not this module's. `sign()` is the member's side (the CLI and the tests;
the portal does the same with WebCrypto).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from backbone.identity.domain import CMS_BYTES_MAX
from backbone.identity.errors import (
    InvalidSignedData,
    PayloadTooLarge,
    SignatureInvalid,
    UnsupportedAlgorithm,
)

DOCUMENT_KEYS = ("nonce", "text", "time")
RSA_SIGNATURE_ALGORITHMS = frozenset({"rsassa_pkcs1v15", "sha256_rsa"})
EC_SIGNATURE_ALGORITHMS = frozenset({"sha256_ecdsa"})
RSA_KEY_BITS = 2048

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


# --- the document -------------------------------------------------------------------------------


def format_time(instant: datetime) -> str:
    """RFC 3339 in UTC to the second: '2026-11-23T08:00:00Z'."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_document(*, text: str, nonce: str, time: datetime) -> bytes:
    """The exact bytes a member signs: sorted keys, no spaces, UTF-8, no escaping of Korean."""
    return json.dumps(
        {"nonce": nonce, "text": text, "time": format_time(time)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    nonce: str
    time: str


def parse_document(content: bytes) -> Document:
    """The (text, nonce, time) of signed content, which must be in canonical form byte for byte."""
    try:
        parsed = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidSignedData("the signed content is not a JSON document") from error
    if not isinstance(parsed, dict) or tuple(sorted(parsed)) != DOCUMENT_KEYS:
        raise InvalidSignedData("the signed content is not a (nonce, text, time) document")
    if not all(isinstance(parsed[key], str) for key in DOCUMENT_KEYS):
        raise InvalidSignedData("the signed document's nonce, text and time are strings")
    document = Document(text=parsed["text"], nonce=parsed["nonce"], time=parsed["time"])
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if canonical != content:
        raise InvalidSignedData("the signed document is not in canonical form")
    return document


# --- signing (the member's side) ----------------------------------------------------------------


def _signature_algorithm(key: SigningKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "sha256_rsa"
    return "sha256_ecdsa"


def _sign_bytes(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _time(instant: datetime) -> cms.Time:
    utc = instant.astimezone(UTC).replace(microsecond=0)
    # RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise.
    if 1950 <= utc.year <= 2049:
        return cms.Time({"utc_time": core.UTCTime(utc)})
    return cms.Time({"generalized_time": core.GeneralizedTime(utc)})


def sign(content: bytes, *, certificate: x509.Certificate, key: SigningKey, signing_time: datetime) -> bytes:
    """CMS SignedData (DER) over `content`, attached, with the signer's certificate included."""
    certificate_asn1 = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [_time(signing_time)]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
    ]
    signed_attributes = cms.CMSAttributes(sorted(attributes, key=lambda attribute: attribute.dump()))
    signature = _sign_bytes(key, signed_attributes.dump())
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": certificate_asn1.issuer, "serial_number": certificate_asn1.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attributes,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": _signature_algorithm(key)}),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "data", "content": content},
            "certificates": [certificate_asn1],
            "signer_infos": [signer],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


# --- verifying (Backbone's side) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedSignedData:
    """SignedData whose signature verifies with `signer`'s key; the signer is not yet trusted."""

    content: bytes
    signer: x509.Certificate
    signing_time: datetime


@dataclass(frozen=True, slots=True)
class _Parsed:
    content: bytes
    signer_der: bytes
    signed_bytes: bytes
    signature: bytes
    signature_algorithm: str
    message_digest: bytes
    signing_time: datetime


def _parse(data: bytes) -> _Parsed:
    info = cms.ContentInfo.load(data, strict=True)
    if info["content_type"].native != "signed_data":
        raise InvalidSignedData("the blob is CMS, but not SignedData")
    signed_data = info["content"]
    encapsulated = signed_data["encap_content_info"]
    if encapsulated["content_type"].native != "data":
        raise InvalidSignedData("the signed content must be of type data")
    content = encapsulated["content"].native
    if not isinstance(content, bytes):
        raise InvalidSignedData("the signed content is missing: attach it (detached signatures are refused)")
    signers = list(signed_data["signer_infos"])
    if len(signers) != 1:
        raise InvalidSignedData(f"exactly one signer is accepted, found {len(signers)}")
    signer = signers[0]
    if signer["digest_algorithm"]["algorithm"].native != "sha256":
        raise UnsupportedAlgorithm("the digest algorithm must be SHA-256")
    attributes = signer["signed_attrs"]
    message_digest, signing_time = _signed_attributes(attributes)
    return _Parsed(
        content=content,
        signer_der=_signer_certificate(signed_data, signer["sid"]),
        # The signature covers the attributes as a SET OF (tag 0x31), not as the [0] field.
        signed_bytes=b"\x31" + attributes.dump()[1:],
        signature=signer["signature"].native,
        signature_algorithm=signer["signature_algorithm"]["algorithm"].native,
        message_digest=message_digest,
        signing_time=signing_time.astimezone(UTC),
    )


def _signed_attributes(attributes: object) -> tuple[bytes, datetime]:
    """The message digest and signing time from the signed attributes, which must hold exactly one
    content type (data), message digest and signing time, each once, in DER order."""
    if not isinstance(attributes, cms.CMSAttributes) or len(attributes) == 0:
        raise InvalidSignedData("signed attributes are required")
    encoded = [attribute.dump() for attribute in attributes]
    if encoded != sorted(encoded):
        raise InvalidSignedData("the signed attributes are not in DER order")
    values: dict[str, list[object]] = {}
    for attribute in attributes:
        kind = attribute["type"].native
        if kind in values:
            raise InvalidSignedData(f"the signed attribute {kind} appears twice")
        values[kind] = list(attribute["values"].native)
    for required in ("content_type", "message_digest", "signing_time"):
        if len(values.get(required, [])) != 1:
            raise InvalidSignedData(f"the signed attribute {required} must appear once, with one value")
    if values["content_type"][0] != "data":
        raise InvalidSignedData("the content-type attribute must be data")
    message_digest = values["message_digest"][0]
    signing_time = values["signing_time"][0]
    if not isinstance(message_digest, bytes) or not isinstance(signing_time, datetime):
        raise InvalidSignedData("the message-digest or signing-time attribute is malformed")
    return message_digest, signing_time


def _signer_certificate(signed_data: cms.SignedData, sid: cms.SignerIdentifier) -> bytes:
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue
        certificate = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                certificate.serial_number == wanted["serial_number"].native
                and certificate.issuer == wanted["issuer"]
            ):
                return bytes(certificate.dump())
        elif sid.name == "subject_key_identifier" and certificate.key_identifier == sid.chosen.native:
            return bytes(certificate.dump())
    raise InvalidSignedData("the SignedData does not carry the signer's certificate")


def verify_signed_data(data: bytes) -> VerifiedSignedData:
    """Parse and check CMS SignedData; raise a typed refusal for anything malformed or false."""
    if len(data) > CMS_BYTES_MAX:
        raise PayloadTooLarge(f"signed data is limited to {CMS_BYTES_MAX:,} bytes")
    try:
        parsed = _parse(data)
        signer = x509.load_der_x509_certificate(parsed.signer_der)
    except (InvalidSignedData, UnsupportedAlgorithm):
        raise
    except Exception as error:  # asn1crypto parses lazily and fails with many types on junk input
        raise InvalidSignedData("the blob is not DER-encoded CMS SignedData") from error
    if hashlib.sha256(parsed.content).digest() != parsed.message_digest:
        raise SignatureInvalid("the content does not match its signed digest: it was altered")
    _check_signature(signer, parsed)
    return VerifiedSignedData(content=parsed.content, signer=signer, signing_time=parsed.signing_time)


def _check_signature(signer: x509.Certificate, parsed: _Parsed) -> None:
    public_key = signer.public_key()
    try:
        if (
            isinstance(public_key, rsa.RSAPublicKey)
            and parsed.signature_algorithm in RSA_SIGNATURE_ALGORITHMS
        ):
            if public_key.key_size != RSA_KEY_BITS:
                raise UnsupportedAlgorithm("RSA keys must be 2048 bits")
            public_key.verify(parsed.signature, parsed.signed_bytes, padding.PKCS1v15(), hashes.SHA256())
            return
        if (
            isinstance(public_key, ec.EllipticCurvePublicKey)
            and parsed.signature_algorithm in EC_SIGNATURE_ALGORITHMS
        ):
            if not isinstance(public_key.curve, ec.SECP256R1):
                raise UnsupportedAlgorithm("EC keys must be on P-256")
            public_key.verify(parsed.signature, parsed.signed_bytes, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature as error:
        raise SignatureInvalid("the signature does not verify with the signer's certificate") from error
    raise UnsupportedAlgorithm(
        f"signatures are RSASSA-PKCS1-v1_5 or ECDSA with SHA-256, not {parsed.signature_algorithm}"
    )
