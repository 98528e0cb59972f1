"""The certificate authority's cryptography, without storage: the root, members' certificates from
their signing requests, the revocation list, and the root key's encryption at rest.

- The root is an ECDSA P-256 key with a self-signed certificate valid twenty years; its private key
  is stored only as encrypted PKCS#8 (PBES2, AES-256) under the installation's secret key.
- A member's certificate binds the public key of a CSR whose own signature verifies (proof that
  the requester holds the key): RSA-2048 or ECDSA P-256, SHA-256. The subject is Backbone's, never
  the CSR's: the member's name and member number. Key usage is digitalSignature and
  nonRepudiation (critical), no extended key usage, so `openssl cms -verify` accepts it for
  signing (its S/MIME signing purpose allows certificates without one).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from backbone.identity.domain import CSR_BYTES_MAX, RevocationReason
from backbone.identity.errors import (
    CertificateForeign,
    InvalidCsr,
    PayloadTooLarge,
    UnsupportedAlgorithm,
)

ROOT_VALIDITY_DAYS = 20 * 365
CRL_VALIDITY_S = 24 * 3_600
ROOT_COMMON_NAME = "Backbone Root CA"
ORGANISATION = "Backbone"
MEMBER_UNIT = "Members"
COUNTRY = "KR"
RSA_KEY_BITS = 2048
PEM_MARKER = b"-----BEGIN"

_REASONS = {
    RevocationReason.UNSPECIFIED: x509.ReasonFlags.unspecified,
    RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
    RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    RevocationReason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
}


@dataclass(frozen=True, slots=True)
class Root:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def create_root(*, now: datetime, common_name: str = ROOT_COMMON_NAME) -> Root:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=ROOT_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Root(certificate=certificate, key=key)


def encrypt_key(key: ec.EllipticCurvePrivateKey, secret: bytes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret),
    )


def decrypt_key(encrypted: bytes, secret: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(encrypted, password=secret)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("the root key is not an EC key")
    return key


def load_root(certificate_der: bytes, encrypted_key: bytes, secret: bytes) -> Root:
    """The stored root, or ValueError when the secret key is not the one that encrypted it."""
    return Root(
        certificate=x509.load_der_x509_certificate(certificate_der), key=decrypt_key(encrypted_key, secret)
    )


# --- requests and certificates from outside -----------------------------------------------------


def _pem_or_der(data: bytes, *, limit: int, what: str, base64_allowed: bool = True) -> tuple[bytes, bool]:
    if len(data) > limit:
        raise PayloadTooLarge(f"a {what} is limited to {limit:,} bytes")
    stripped = data.strip()
    if stripped.startswith(PEM_MARKER):
        return stripped, True
    if base64_allowed and stripped[:1] == b"M":  # base64 of DER starts with 'MI' (SEQUENCE)
        try:
            return base64.b64decode(stripped, validate=True), False
        except binascii.Error:
            pass
    return data, False


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """A CSR in PEM, DER or base64 DER that proves possession of an accepted key, or a typed error."""
    raw, is_pem = _pem_or_der(data, limit=CSR_BYTES_MAX, what="certificate signing request")
    try:
        csr = x509.load_pem_x509_csr(raw) if is_pem else x509.load_der_x509_csr(raw)
        public_key = csr.public_key()
        signature_hash = csr.signature_hash_algorithm
        signature_ok = csr.is_signature_valid
    except Exception as error:  # junk input fails inside the parser with several exception types
        raise InvalidCsr("the certificate signing request cannot be parsed") from error
    check_public_key(public_key)
    if not isinstance(signature_hash, hashes.SHA256):
        raise UnsupportedAlgorithm("the request must be signed with SHA-256")
    if not signature_ok:
        raise InvalidCsr("the request's signature does not verify: it was not made with its key")
    return csr


def check_public_key(public_key: object) -> str:
    """'rsa-2048' or 'ec-p256', or UnsupportedAlgorithm."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size != RSA_KEY_BITS:
            raise UnsupportedAlgorithm(f"RSA keys must be 2048 bits, not {public_key.key_size}")
        return "rsa-2048"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise UnsupportedAlgorithm(f"EC keys must be on P-256, not {public_key.curve.name}")
        return "ec-p256"
    raise UnsupportedAlgorithm("keys must be RSA-2048 or ECDSA P-256")


def member_subject(*, name: str, member_number: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, MEMBER_UNIT),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, member_number),
        ]
    )


def issue(
    root: Root,
    csr: x509.CertificateSigningRequest,
    *,
    subject: x509.Name,
    serial: int,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    public_key = csr.public_key()
    check_public_key(public_key)
    issuer_key_identifier = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.certificate.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_key_identifier.value),
            critical=False,
        )
        .sign(root.key, hashes.SHA256())
    )


def check_issued_by(certificate: x509.Certificate, root: x509.Certificate) -> None:
    """The certificate's signature is the root's, or CertificateForeign."""
    if certificate.issuer != root.subject:
        raise CertificateForeign("the certificate was not issued by the Backbone certificate authority")
    try:
        certificate.verify_directly_issued_by(root)
    except Exception as error:  # InvalidSignature, ValueError or TypeError, depending on the forgery
        raise CertificateForeign("the certificate's signature is not the Backbone authority's") from error


def revocation_list(
    root: Root,
    revoked: list[tuple[int, datetime, RevocationReason]],
    *,
    now: datetime,
    number: int,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.certificate.subject)
        .last_update(now)
        .next_update(now + timedelta(seconds=CRL_VALIDITY_S))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for serial, revoked_at, reason in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(revoked_at)
            .add_extension(x509.CRLReason(_REASONS[reason]), critical=False)
            .build()
        )
    return builder.sign(root.key, hashes.SHA256())


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def key_algorithm(certificate: x509.Certificate) -> str:
    return check_public_key(certificate.public_key())
