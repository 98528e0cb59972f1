"""The open platform's tables. Real account numbers live only in `platform_virtual_accounts`,
and no API shape reads that column."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backbone.kit.db import Base


class CompanyRow(Base):
    __tablename__ = "platform_companies"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(80))
    business_number: Mapped[str] = mapped_column(String(10), unique=True)  # 사업자등록번호
    email: Mapped[str] = mapped_column(String(254))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class AppRow(Base):
    __tablename__ = "platform_apps"
    __table_args__ = (Index("ix_platform_apps_company_id", "company_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    company_id: Mapped[int] = mapped_column(ForeignKey("platform_companies.id"))
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(400))
    redirect_uris: Mapped[str] = mapped_column(Text)  # JSON array
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated
    status: Mapped[str] = mapped_column(String(20))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    jwks: Mapped[str | None] = mapped_column(Text)  # JSON, for private_key_jwt
    daily_quota: Mapped[int]
    burst_limit: Mapped[int]
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class FirmRow(Base):
    __tablename__ = "platform_firms"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name_ko: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    adapter: Mapped[str] = mapped_column(String(16))
    base_url: Mapped[str | None] = mapped_column(String(500))
    capabilities: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class MembershipRow(Base):
    """앱 사용 신청: a member's use of an app. `subject` is the member's pairwise id for that app
    (the tokens' `sub`), so two apps cannot correlate one member."""

    __tablename__ = "platform_memberships"
    __table_args__ = (UniqueConstraint("member_id", "app_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    app_id: Mapped[int] = mapped_column(ForeignKey("platform_apps.id"))
    subject: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    applied_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]


class VirtualAccountRow(Base):
    __tablename__ = "platform_virtual_accounts"
    __table_args__ = (Index("ix_platform_virtual_accounts_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    number: Mapped[str] = mapped_column(String(18), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    firm_id: Mapped[int] = mapped_column(ForeignKey("platform_firms.id"))
    real_number: Mapped[str] = mapped_column(String(24))  # never leaves through an API shape
    alias: Mapped[str] = mapped_column(String(40))
    account_type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12))
    issued_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class AccountLinkRow(Base):
    """연결할 계좌 선택: the virtual accounts a member lets one app see."""

    __tablename__ = "platform_account_links"
    __table_args__ = (Index("ix_platform_account_links_membership_id", "membership_id"),)

    app_id: Mapped[int] = mapped_column(ForeignKey("platform_apps.id"), primary_key=True)
    virtual_account_id: Mapped[int] = mapped_column(
        ForeignKey("platform_virtual_accounts.id"), primary_key=True
    )
    membership_id: Mapped[int] = mapped_column(ForeignKey("platform_memberships.id"))
    linked_at: Mapped[datetime]


class ConsentRow(Base):
    __tablename__ = "platform_consents"
    __table_args__ = (Index("ix_platform_consents_member_id_kind", "member_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    firm_id: Mapped[int] = mapped_column(ForeignKey("platform_firms.id"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("platform_companies.id"))
    method: Mapped[str] = mapped_column(String(12))
    signature_id: Mapped[int | None]  # identity's kept CMS signature
    ars_call_id: Mapped[int | None]  # identity's confirmed ARS call
    request_id: Mapped[int] = mapped_column(ForeignKey("platform_consent_requests.id"))
    document_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    signed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    renewed_by: Mapped[int | None]


class ConsentRequestRow(Base):
    """A consent being given: the text, and the signing challenge or ARS call that will prove it.
    Completing it once makes the consents; a second completion is refused."""

    __tablename__ = "platform_consent_requests"
    __table_args__ = (Index("ix_platform_consent_requests_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("identity_members.id"))
    kind: Mapped[str] = mapped_column(String(16))
    firm_ids: Mapped[str] = mapped_column(String(400))  # comma-separated
    company_id: Mapped[int | None] = mapped_column(ForeignKey("platform_companies.id"))
    app_id: Mapped[int | None] = mapped_column(ForeignKey("platform_apps.id"))
    method: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    challenge_id: Mapped[int | None]
    ars_call_id: Mapped[int | None] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class AuditRow(Base):
    """Every change to companies, apps, firms, virtual accounts, links and consents."""

    __tablename__ = "platform_audit_log"
    __table_args__ = (Index("ix_platform_audit_log_member_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None]
    app_id: Mapped[int | None]
    company_id: Mapped[int | None]
    consent_id: Mapped[int | None]
    virtual_account_id: Mapped[int | None]
    detail: Mapped[str] = mapped_column(String(400))


class DataReadRow(Base):
    """One read of an investor's data by an app: which app, under which consents, which account."""

    __tablename__ = "platform_data_reads"
    __table_args__ = (
        Index("ix_platform_data_reads_app_id_at", "app_id", "at"),
        Index("ix_platform_data_reads_member_id_at", "member_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    app_id: Mapped[int]
    member_id: Mapped[int]
    virtual_account_id: Mapped[int]
    fintech_consent_id: Mapped[int]
    platform_consent_id: Mapped[int]
    resource: Mapped[str] = mapped_column(String(24))
    request_id: Mapped[str] = mapped_column(String(64))


class AuthorizationCodeRow(Base):
    __tablename__ = "platform_authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("platform_apps.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("platform_memberships.id"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(200))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RefreshTokenRow(Base):
    __tablename__ = "platform_refresh_tokens"
    __table_args__ = (Index("ix_platform_refresh_tokens_membership_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("platform_apps.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("platform_memberships.id"))
    scope: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class RevokedTokenRow(Base):
    """Access tokens revoked before they expire (RFC 7009), by `jti`; kept until they would expire."""

    __tablename__ = "platform_revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime]


class RevisionRow(Base):
    """One row: a number that database triggers raise with every change to the tables an open API
    call's authorization reads (apps, memberships, firms, virtual accounts, links, consents,
    revoked tokens, and the brokerage core's accounts and customers), in the changing
    transaction, so a process may keep what it read from them while the number stands
    (migration 0006)."""

    __tablename__ = "platform_revision"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(default=0, server_default="0")


class ClientAssertionRow(Base):
    """`jti`s of private_key_jwt assertions already used, so none is replayed."""

    __tablename__ = "platform_client_assertions"

    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    __tablename__ = "platform_webhook_deliveries"
    __table_args__ = (
        Index("ix_platform_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_platform_webhook_deliveries_app_id", "app_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    app_id: Mapped[int] = mapped_column(ForeignKey("platform_apps.id"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttemptRow(Base):
    __tablename__ = "platform_webhook_attempts"
    __table_args__ = (Index("ix_platform_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("platform_webhook_deliveries.id"))
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int]
