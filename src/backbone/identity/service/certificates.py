"""The certificate authority as a service: the root (created on first use, its key encrypted at
rest), certificates issued to members from their CSRs, revocation, status and the revocation list.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.orm import Session

from backbone.identity import certificate_authority as authority
from backbone.identity import repository
from backbone.identity.domain import (
    CERTIFICATES_ACTIVE_PER_MEMBER_MAX,
    CertificateStatus,
    IssuedCertificate,
    Member,
    RevocationReason,
    certificate_validity_days,
)
from backbone.identity.errors import (
    CertificateAlreadyRevoked,
    CertificateExpired,
    CertificateForeign,
    CertificateRevoked,
    TooManyCertificates,
    UnknownCertificate,
)
from backbone.kit.check import present
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")
ROOT_ROLE = "root"


@dataclass(frozen=True, slots=True)
class CertificateStatusReport:
    serial: str
    status: CertificateStatus
    not_before: datetime | None
    not_after: datetime | None
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None


class CertificateAuthority:
    def __init__(self, *, clock: Clock, ids: IdGenerator, secret_key: bytes) -> None:
        self._clock = clock
        self._ids = ids
        # The root key is derived-key encrypted; decrypting it costs a key derivation, so the
        # decrypted root is kept in memory for the life of the process.
        self._key_secret = secret_key
        self._root: authority.Root | None = None
        self._lock = threading.Lock()

    # --- the root -------------------------------------------------------------------------------

    def root(self, session: Session) -> authority.Root:
        """The installation's root, created (and stored, key encrypted) on first use."""
        with self._lock:
            if self._root is not None:
                return self._root
        stored = repository.authority(session, ROOT_ROLE)
        if stored is None:
            now = self._clock.now()
            root = authority.create_root(now=now)
            repository.insert_authority(
                session,
                authority_id=self._ids.next(),
                role=ROOT_ROLE,
                subject=root.certificate.subject.rfc4514_string(),
                certificate_der=root.certificate.public_bytes(Encoding.DER),
                private_key_encrypted=authority.encrypt_key(root.key, self._key_secret),
                created_at=now,
                not_after=root.certificate.not_valid_after_utc,
            )
            log.info("identity.root_created", subject=root.certificate.subject.rfc4514_string())
            # Not cached until the transaction that stored it has committed: the next call reads it back.
            return root
        try:
            root = authority.load_root(stored.certificate_der, stored.private_key_encrypted, self._key_secret)
        except ValueError as error:
            raise RuntimeError(
                "the root CA key cannot be decrypted: BACKBONE_SECRET_KEY is not the key it was made with"
            ) from error
        with self._lock:
            self._root = root
        return root

    def root_certificate_pem(self, session: Session) -> bytes:
        return self.root(session).certificate.public_bytes(Encoding.PEM)

    # --- issuing --------------------------------------------------------------------------------

    def issue(
        self, session: Session, member: Member, csr_data: bytes, *, extended: bool = False
    ) -> IssuedCertificate:
        """A certificate for the key in the CSR, naming the member; valid one year, or three."""
        csr = authority.load_csr(csr_data)
        now = self._clock.now()
        if (
            repository.unexpired_unrevoked_count(session, member.id, now)
            >= CERTIFICATES_ACTIVE_PER_MEMBER_MAX
        ):
            raise TooManyCertificates(
                f"a member holds at most {CERTIFICATES_ACTIVE_PER_MEMBER_MAX} valid certificates; "
                "revoke one first"
            )
        root = self.root(session)
        serial = x509.random_serial_number()
        # X.509 validity times are whole seconds: the record keeps exactly the certificate's own
        # times, so a signature made within the second of issue (its CMS signing time is whole
        # seconds too) falls inside the validity instead of a fraction before it.
        not_before = now.replace(microsecond=0)
        not_after = not_before + timedelta(days=certificate_validity_days(extended=extended))
        certificate = authority.issue(
            root,
            csr,
            subject=authority.member_subject(name=member.name, member_number=str(member.id)),
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        certificate_id = self._ids.next()
        repository.insert_certificate(
            session,
            certificate_id=certificate_id,
            member_id=member.id,
            serial=authority.serial_hex(serial),
            subject=certificate.subject.rfc4514_string(),
            key_algorithm=authority.key_algorithm(certificate),
            extended=extended,
            not_before=not_before,
            not_after=not_after,
            certificate_der=certificate.public_bytes(Encoding.DER),
            issued_at=now,
        )
        log.info(
            "identity.certificate_issued",
            member_id=member.id,
            certificate_id=certificate_id,
            serial=authority.serial_hex(serial),
        )
        return present(repository.certificate_by_id(session, certificate_id), "just inserted")

    # --- reading --------------------------------------------------------------------------------

    def certificates_of(self, session: Session, member_id: int) -> list[IssuedCertificate]:
        return repository.certificates_of_member(session, member_id)

    def certificate(self, session: Session, serial: str) -> IssuedCertificate:
        issued = repository.certificate_by_serial(session, serial.lower())
        if issued is None:
            raise UnknownCertificate(f"no certificate with serial {serial}")
        return issued

    def status(self, session: Session, serial: str) -> CertificateStatusReport:
        """OCSP's answer as JSON: good, revoked, expired, or unknown (never issued here)."""
        issued = repository.certificate_by_serial(session, serial.strip().lower())
        if issued is None:
            return CertificateStatusReport(serial, CertificateStatus.UNKNOWN, None, None, None, None)
        return CertificateStatusReport(
            serial=issued.serial,
            status=issued.status_at(self._clock.now()),
            not_before=issued.not_before,
            not_after=issued.not_after,
            revoked_at=issued.revoked_at,
            revocation_reason=issued.revocation_reason,
        )

    def revocation_list(self, session: Session) -> bytes:
        """A CRL (DER) signed by the root, naming every revoked certificate not yet expired."""
        root = self.root(session)
        stored = present(repository.authority(session, ROOT_ROLE), "the root exists once root() returned")
        now = self._clock.now()
        revoked = [
            (int(serial, 16), revoked_at, reason)
            for serial, revoked_at, reason in repository.revoked_certificates(session, now)
        ]
        number = repository.take_crl_number(session, stored.id)
        return authority.revocation_list(root, revoked, now=now, number=number).public_bytes(Encoding.DER)

    # --- revoking -------------------------------------------------------------------------------

    def revoke(
        self, session: Session, serial: str, *, reason: RevocationReason, member_id: int | None = None
    ) -> IssuedCertificate:
        """Revoke a certificate: a member their own (member_id given), the operator any."""
        issued = self.certificate(session, serial)
        if member_id is not None and issued.member_id != member_id:
            raise UnknownCertificate(f"no certificate with serial {serial}")
        if not repository.revoke_certificate(session, issued.id, now=self._clock.now(), reason=reason):
            raise CertificateAlreadyRevoked(f"certificate {serial} is already revoked")
        log.info(
            "identity.certificate_revoked",
            member_id=issued.member_id,
            serial=issued.serial,
            reason=reason.value,
        )
        return present(repository.certificate_by_id(session, issued.id), "just updated")

    # --- trusting a signer ----------------------------------------------------------------------

    def trusted_signer(
        self, session: Session, certificate: x509.Certificate, *, signing_time: datetime
    ) -> IssuedCertificate:
        """The issued certificate behind a signer's certificate: signed by this root, on record
        byte for byte, unrevoked and within its validity both now and when it signed."""
        authority.check_issued_by(certificate, self.root(session).certificate)
        issued = repository.certificate_by_serial(session, authority.serial_hex(certificate.serial_number))
        if issued is None or issued.certificate_der != certificate.public_bytes(Encoding.DER):
            raise CertificateForeign("the certificate is not one Backbone issued")
        now = self._clock.now()
        status = issued.status_at(now)
        if status is CertificateStatus.REVOKED:
            raise CertificateRevoked(f"certificate {issued.serial} was revoked")
        if (
            status is not CertificateStatus.GOOD
            or issued.status_at(signing_time) is not CertificateStatus.GOOD
        ):
            raise CertificateExpired(f"certificate {issued.serial} is not valid at this time")
        return issued
