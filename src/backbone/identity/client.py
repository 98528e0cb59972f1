"""The member's side of certificates, for headless clients (the `backbone identity` commands and
the tests): make a key pair, a certificate signing request for it, and sign a document.

The private key never leaves the member's machine: it is written to a file (PKCS#8 PEM, encrypted
when a passphrase is given) and only the CSR and signatures travel. The portal does the same with
WebCrypto in the browser.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from backbone.identity import cms
from backbone.identity.cms import SigningKey


class KeyAlgorithm(StrEnum):
    EC_P256 = "ec-p256"
    RSA_2048 = "rsa-2048"


def generate_key(algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256) -> SigningKey:
    if algorithm is KeyAlgorithm.RSA_2048:
        return rsa.generate_private_key(public_exponent=65_537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def key_to_pem(key: SigningKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def key_from_pem(data: bytes, passphrase: bytes | None = None) -> SigningKey:
    key = serialization.load_pem_private_key(data, password=passphrase)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("the key is neither RSA nor EC")
    return key


def signing_request(key: SigningKey, common_name: str = "Backbone member") -> bytes:
    """A PEM CSR. Backbone replaces the subject with its own, so the name here is a courtesy."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def sign_document(
    document: bytes, *, certificate_pem: bytes, key: SigningKey, signing_time: datetime
) -> bytes:
    """CMS SignedData (DER) over the exact document bytes the server issued."""
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    return cms.sign(document, certificate=certificate, key=key, signing_time=signing_time)
