"""Open platform: fintech companies and apps, platform firms, memberships, virtual accounts, account
links, consents and consent requests, the audit log and data reads, OAuth codes and tokens, and
webhook deliveries with their attempts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "platform_audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("app_id", sa.BigInteger(), nullable=True),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("consent_id", sa.BigInteger(), nullable=True),
        sa.Column("virtual_account_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_audit_log")),
    )
    with op.batch_alter_table("platform_audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_platform_audit_log_member_id", ["member_id"], unique=False)

    op.create_table(
        "platform_client_assertions",
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_platform_client_assertions")),
    )
    op.create_table(
        "platform_companies",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("business_number", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("api_key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_companies")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_platform_companies_api_key_hash")),
        sa.UniqueConstraint("business_number", name=op.f("uq_platform_companies_business_number")),
    )
    op.create_table(
        "platform_data_reads",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("virtual_account_id", sa.BigInteger(), nullable=False),
        sa.Column("fintech_consent_id", sa.BigInteger(), nullable=False),
        sa.Column("platform_consent_id", sa.BigInteger(), nullable=False),
        sa.Column("resource", sa.String(length=24), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_data_reads")),
    )
    with op.batch_alter_table("platform_data_reads", schema=None) as batch_op:
        batch_op.create_index("ix_platform_data_reads_app_id_at", ["app_id", "at"], unique=False)
        batch_op.create_index("ix_platform_data_reads_member_id_at", ["member_id", "at"], unique=False)

    op.create_table(
        "platform_firms",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name_ko", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("adapter", sa.String(length=16), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("capabilities", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_firms")),
        sa.UniqueConstraint("code", name=op.f("uq_platform_firms_code")),
    )
    op.create_table(
        "platform_revoked_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_platform_revoked_tokens")),
    )
    op.create_table(
        "platform_apps",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.String(length=400), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=32), nullable=False),
        sa.Column("client_secret_hash", sa.String(length=64), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("daily_quota", sa.BigInteger(), nullable=False),
        sa.Column("burst_limit", sa.BigInteger(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["platform_companies.id"],
            name=op.f("fk_platform_apps_company_id_platform_companies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_apps")),
        sa.UniqueConstraint("client_id", name=op.f("uq_platform_apps_client_id")),
    )
    with op.batch_alter_table("platform_apps", schema=None) as batch_op:
        batch_op.create_index("ix_platform_apps_company_id", ["company_id"], unique=False)

    op.create_table(
        "platform_virtual_accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("number", sa.String(length=18), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("firm_id", sa.BigInteger(), nullable=False),
        sa.Column("real_number", sa.String(length=24), nullable=False),
        sa.Column("alias", sa.String(length=40), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["platform_firms.id"],
            name=op.f("fk_platform_virtual_accounts_firm_id_platform_firms"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["identity_members.id"],
            name=op.f("fk_platform_virtual_accounts_member_id_identity_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_virtual_accounts")),
        sa.UniqueConstraint("number", name=op.f("uq_platform_virtual_accounts_number")),
    )
    with op.batch_alter_table("platform_virtual_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_platform_virtual_accounts_member_id", ["member_id"], unique=False)

    op.create_table(
        "platform_consent_requests",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("firm_ids", sa.String(length=400), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("app_id", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("challenge_id", sa.BigInteger(), nullable=True),
        sa.Column("ars_call_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["platform_apps.id"], name=op.f("fk_platform_consent_requests_app_id_platform_apps")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["platform_companies.id"],
            name=op.f("fk_platform_consent_requests_company_id_platform_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["identity_members.id"],
            name=op.f("fk_platform_consent_requests_member_id_identity_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_consent_requests")),
        sa.UniqueConstraint("ars_call_id", name=op.f("uq_platform_consent_requests_ars_call_id")),
    )
    with op.batch_alter_table("platform_consent_requests", schema=None) as batch_op:
        batch_op.create_index("ix_platform_consent_requests_member_id", ["member_id"], unique=False)

    op.create_table(
        "platform_memberships",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["platform_apps.id"], name=op.f("fk_platform_memberships_app_id_platform_apps")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["identity_members.id"],
            name=op.f("fk_platform_memberships_member_id_identity_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_memberships")),
        sa.UniqueConstraint("member_id", "app_id", name=op.f("uq_platform_memberships_member_id_app_id")),
        sa.UniqueConstraint("subject", name=op.f("uq_platform_memberships_subject")),
    )
    op.create_table(
        "platform_webhook_deliveries",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["platform_apps.id"], name=op.f("fk_platform_webhook_deliveries_app_id_platform_apps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_webhook_deliveries")),
    )
    with op.batch_alter_table("platform_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_platform_webhook_deliveries_app_id", ["app_id"], unique=False)
        batch_op.create_index(
            "ix_platform_webhook_deliveries_status_next_attempt_at",
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "platform_account_links",
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("virtual_account_id", sa.BigInteger(), nullable=False),
        sa.Column("membership_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["platform_apps.id"], name=op.f("fk_platform_account_links_app_id_platform_apps")
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["platform_memberships.id"],
            name=op.f("fk_platform_account_links_membership_id_platform_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["virtual_account_id"],
            ["platform_virtual_accounts.id"],
            name=op.f("fk_platform_account_links_virtual_account_id_platform_virtual_accounts"),
        ),
        sa.PrimaryKeyConstraint("app_id", "virtual_account_id", name=op.f("pk_platform_account_links")),
    )
    with op.batch_alter_table("platform_account_links", schema=None) as batch_op:
        batch_op.create_index("ix_platform_account_links_membership_id", ["membership_id"], unique=False)

    op.create_table(
        "platform_authorization_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("membership_id", sa.BigInteger(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["platform_apps.id"],
            name=op.f("fk_platform_authorization_codes_app_id_platform_apps"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["platform_memberships.id"],
            name=op.f("fk_platform_authorization_codes_membership_id_platform_memberships"),
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_platform_authorization_codes")),
    )
    op.create_table(
        "platform_consents",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("firm_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("signature_id", sa.BigInteger(), nullable=True),
        sa.Column("ars_call_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("document_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewed_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["platform_companies.id"],
            name=op.f("fk_platform_consents_company_id_platform_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["platform_firms.id"], name=op.f("fk_platform_consents_firm_id_platform_firms")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["identity_members.id"],
            name=op.f("fk_platform_consents_member_id_identity_members"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["platform_consent_requests.id"],
            name=op.f("fk_platform_consents_request_id_platform_consent_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_consents")),
    )
    with op.batch_alter_table("platform_consents", schema=None) as batch_op:
        batch_op.create_index("ix_platform_consents_member_id_kind", ["member_id", "kind"], unique=False)

    op.create_table(
        "platform_refresh_tokens",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("membership_id", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["platform_apps.id"], name=op.f("fk_platform_refresh_tokens_app_id_platform_apps")
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["platform_memberships.id"],
            name=op.f("fk_platform_refresh_tokens_membership_id_platform_memberships"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_platform_refresh_tokens_token_hash")),
    )
    with op.batch_alter_table("platform_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_platform_refresh_tokens_membership_id", ["membership_id"], unique=False)

    op.create_table(
        "platform_webhook_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["platform_webhook_deliveries.id"],
            name=op.f("fk_platform_webhook_attempts_delivery_id_platform_webhook_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_webhook_attempts")),
    )
    with op.batch_alter_table("platform_webhook_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_platform_webhook_attempts_delivery_id", ["delivery_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("platform_webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_webhook_attempts_delivery_id")

    op.drop_table("platform_webhook_attempts")
    with op.batch_alter_table("platform_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_refresh_tokens_membership_id")

    op.drop_table("platform_refresh_tokens")
    with op.batch_alter_table("platform_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_consents_member_id_kind")

    op.drop_table("platform_consents")
    op.drop_table("platform_authorization_codes")
    with op.batch_alter_table("platform_account_links", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_account_links_membership_id")

    op.drop_table("platform_account_links")
    with op.batch_alter_table("platform_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_webhook_deliveries_status_next_attempt_at")
        batch_op.drop_index("ix_platform_webhook_deliveries_app_id")

    op.drop_table("platform_webhook_deliveries")
    op.drop_table("platform_memberships")
    with op.batch_alter_table("platform_consent_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_consent_requests_member_id")

    op.drop_table("platform_consent_requests")
    with op.batch_alter_table("platform_virtual_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_virtual_accounts_member_id")

    op.drop_table("platform_virtual_accounts")
    with op.batch_alter_table("platform_apps", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_apps_company_id")

    op.drop_table("platform_apps")
    op.drop_table("platform_revoked_tokens")
    op.drop_table("platform_firms")
    with op.batch_alter_table("platform_data_reads", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_data_reads_member_id_at")
        batch_op.drop_index("ix_platform_data_reads_app_id_at")

    op.drop_table("platform_data_reads")
    op.drop_table("platform_companies")
    op.drop_table("platform_client_assertions")
    with op.batch_alter_table("platform_audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_audit_log_member_id")

    op.drop_table("platform_audit_log")
