"""Authentication tables.

Secrets are stored only in forms that can check them and not reveal them: session, device and
flow tokens as SHA-256 (they are long random values), one-time codes as an HMAC under the
installation's secret key (a six-digit code would fall to a brute force of a plain hash), PINs as
argon2id, the authority's private key encrypted. The dev outbox holds what a phone or mailbox would
receive, which includes codes: it is the development stand-in for the member's phone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backbone.kit.db import Base

TOKEN_HASH_LENGTH = 64


class AuthorityRow(Base):
    __tablename__ = "identity_authorities"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(16), unique=True)  # "root": one per installation
    subject: Mapped[str] = mapped_column(String(200))
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    crl_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    not_after: Mapped[datetime]


class MemberRow(Base):
    __tablename__ = "identity_members"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    personal_identifier: Mapped[str] = mapped_column(String(88), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    birth_date: Mapped[date]
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(12))
    joined_at: Mapped[datetime]
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    pin_failures: Mapped[int] = mapped_column(default=0)
    pin_changed_at: Mapped[datetime | None]


class VerificationRow(Base):
    __tablename__ = "identity_verifications"
    __table_args__ = (Index("ix_identity_verifications_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purpose: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("identity_members.id"))
    name: Mapped[str | None] = mapped_column(String(60))
    birth_date: Mapped[date | None]
    phone: Mapped[str | None] = mapped_column(String(11))
    personal_identifier: Mapped[str | None] = mapped_column(String(88))
    code_hash: Mapped[str | None] = mapped_column(String(TOKEN_HASH_LENGTH))
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(default=0)
    sends: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class TermAcceptanceRow(Base):
    """One term, at one version, accepted at one time, by the sign-up that became the member."""

    __tablename__ = "identity_term_acceptances"
    __table_args__ = (
        UniqueConstraint("verification_id", "term_code"),
        Index("ix_identity_term_acceptances_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    verification_id: Mapped[int] = mapped_column(ForeignKey("identity_verifications.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("identity_members.id"))
    term_code: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime]


class DeviceRow(Base):
    __tablename__ = "identity_devices"
    __table_args__ = (Index("ix_identity_devices_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SessionRow(Base):
    __tablename__ = "identity_sessions"
    __table_args__ = (Index("ix_identity_sessions_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("identity_devices.id"))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    login_factor: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class SessionProofRow(Base):
    """A factor proven during a session: its login, and each step-up since."""

    __tablename__ = "identity_session_proofs"
    __table_args__ = (Index("ix_identity_session_proofs_session_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    session_id: Mapped[int] = mapped_column(ForeignKey("identity_sessions.id"))
    factor: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64))
    proven_at: Mapped[datetime]


class AttemptRow(Base):
    """Every authentication attempt, successful or not: the audit trail and the counters' source."""

    __tablename__ = "identity_attempts"
    __table_args__ = (Index("ix_identity_attempts_member_id_at", "member_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("identity_members.id"))
    factor: Mapped[str] = mapped_column(String(16))
    succeeded: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class CertificateRow(Base):
    __tablename__ = "identity_certificates"
    __table_args__ = (Index("ix_identity_certificates_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    serial: Mapped[str] = mapped_column(String(40), unique=True)  # lower-case hex
    subject: Mapped[str] = mapped_column(String(300))
    key_algorithm: Mapped[str] = mapped_column(String(16))
    extended: Mapped[bool]
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(32))


class SigningChallengeRow(Base):
    __tablename__ = "identity_signing_challenges"
    __table_args__ = (Index("ix_identity_signing_challenges_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("identity_members.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class SignatureRow(Base):
    """A verified CMS signature, kept as received for non-repudiation."""

    __tablename__ = "identity_signatures"
    __table_args__ = (Index("ix_identity_signatures_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("identity_signing_challenges.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("identity_certificates.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    cms_der: Mapped[bytes] = mapped_column(LargeBinary)
    content_sha256: Mapped[str] = mapped_column(String(64))
    signing_time: Mapped[datetime]
    verified_at: Mapped[datetime]


class PasskeyRow(Base):
    __tablename__ = "identity_passkeys"
    __table_args__ = (Index("ix_identity_passkeys_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    credential_id: Mapped[str] = mapped_column(String(400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE
    sign_count: Mapped[int] = mapped_column(default=0)
    aaguid: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class WebauthnChallengeRow(Base):
    __tablename__ = "identity_webauthn_challenges"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("identity_members.id"))
    ceremony: Mapped[str] = mapped_column(String(16))  # registration or authentication
    challenge: Mapped[str] = mapped_column(String(128), unique=True)  # base64url
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ArsCallRow(Base):
    __tablename__ = "identity_ars_calls"
    __table_args__ = (Index("ix_identity_ars_calls_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("identity_sessions.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(String(11))
    code_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]


class OutboxRow(Base):
    """What the development adapters delivered: SMS, e-mail and ARS calls, newest last."""

    __tablename__ = "identity_outbox"
    __table_args__ = (Index("ix_identity_outbox_recipient_id", "recipient", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
