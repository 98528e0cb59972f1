"""Every query of the authorization server: codes, refresh tokens, revoked access tokens and used
client assertions. Codes and tokens are kept only as SHA-256 hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backbone.kit.db import TableRecords
from backbone.open_platform.companies.domain import App
from backbone.open_platform.companies.repository import app_of_row
from backbone.open_platform.journey.domain import Membership
from backbone.open_platform.journey.repository import membership_of_row
from backbone.open_platform.models import (
    AppRow,
    AuthorizationCodeRow,
    ClientAssertionRow,
    MembershipRow,
    RefreshTokenRow,
    RevokedTokenRow,
)


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    code_hash: str
    app_id: int
    membership_id: int
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: int
    token_hash: str
    app_id: int
    membership_id: int
    scope: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def insert_code(session: Session, code: AuthorizationCode) -> None:
    session.execute(
        insert(AuthorizationCodeRow).values(
            code_hash=code.code_hash,
            app_id=code.app_id,
            membership_id=code.membership_id,
            redirect_uri=code.redirect_uri,
            scope=code.scope,
            code_challenge=code.code_challenge,
            code_challenge_method=code.code_challenge_method,
            issued_at=code.issued_at,
            expires_at=code.expires_at,
            used_at=None,
        )
    )


def code_by_hash(session: Session, code_hash: str) -> AuthorizationCode | None:
    row = session.get(AuthorizationCodeRow, code_hash)
    if row is None:
        return None
    return AuthorizationCode(
        code_hash=row.code_hash,
        app_id=row.app_id,
        membership_id=row.membership_id,
        redirect_uri=row.redirect_uri,
        scope=row.scope,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


def use_code(session: Session, code_hash: str, at: datetime) -> bool:
    """Mark the code used, once: a second exchange finds it used (compare-and-set)."""
    result = session.execute(
        update(AuthorizationCodeRow)
        .where(AuthorizationCodeRow.code_hash == code_hash, AuthorizationCodeRow.used_at.is_(None))
        .values(used_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def insert_refresh_token(session: Session, token: RefreshToken) -> None:
    session.execute(
        insert(RefreshTokenRow).values(
            id=token.id,
            token_hash=token.token_hash,
            app_id=token.app_id,
            membership_id=token.membership_id,
            scope=token.scope,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            revoked_at=None,
        )
    )


def refresh_token_by_hash(session: Session, token_hash: str) -> RefreshToken | None:
    row = session.scalars(select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash)).first()
    if row is None:
        return None
    return RefreshToken(
        id=row.id,
        token_hash=row.token_hash,
        app_id=row.app_id,
        membership_id=row.membership_id,
        scope=row.scope,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def revoke_refresh_token(session: Session, token_id: int, at: datetime) -> bool:
    result = session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.id == token_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_refresh_tokens(session: Session, membership_id: int, at: datetime) -> None:
    session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.membership_id == membership_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=at)
    )


def revoke_access_token(session: Session, jti: str, expires_at: datetime, at: datetime) -> None:
    if session.get(RevokedTokenRow, jti) is None:
        session.execute(insert(RevokedTokenRow).values(jti=jti, expires_at=expires_at, revoked_at=at))


_APPS = cast(Table, AppRow.__table__)
_MEMBERSHIPS = cast(Table, MembershipRow.__table__)
_REVOKED = cast(Table, RevokedTokenRow.__table__)
_HOLDER = TableRecords(_APPS, _MEMBERSHIPS)
# Built once, in Core: every open API call runs it (the ORM query of the same cost five times more).
_TOKEN_HOLDER = (
    select(
        *_HOLDER.columns,
        select(_REVOKED.c.jti).where(_REVOKED.c.jti == bindparam("jti")).exists().label("revoked"),
    )
    .select_from(
        _APPS.outerjoin(
            _MEMBERSHIPS,
            and_(_MEMBERSHIPS.c.subject == bindparam("subject"), _MEMBERSHIPS.c.app_id == _APPS.c.id),
        )
    )
    .where(_APPS.c.client_id == bindparam("client_id"))
)


def token_holder(
    session: Session, *, jti: str, client_id: str, subject: str
) -> tuple[App, Membership | None, bool] | None:
    """In one query: the token's app, the app's membership with this subject (if any), and
    whether the token was revoked; None for an unknown app."""
    row = (
        session.connection()
        .execute(_TOKEN_HOLDER, {"jti": jti, "subject": subject, "client_id": client_id})
        .first()
    )
    if row is None:
        return None
    app_record, membership_record = _HOLDER.split(row[:-1])
    membership = None if membership_record is None else membership_of_row(membership_record)
    return app_of_row(app_record), membership, bool(row[-1])


def access_token_revoked(session: Session, jti: str) -> bool:
    return session.scalar(select(RevokedTokenRow.jti).where(RevokedTokenRow.jti == jti)) is not None


def claim_assertion(session: Session, jti: str, client_id: str, expires_at: datetime) -> bool:
    """True the first time a client assertion's jti is seen; False on a replay."""
    if session.get(ClientAssertionRow, jti) is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(
                insert(ClientAssertionRow).values(jti=jti, client_id=client_id, expires_at=expires_at)
            )
    except IntegrityError:
        return False
    return True


def forget_expired(session: Session, now: datetime) -> None:
    session.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at < now))
    session.execute(delete(ClientAssertionRow).where(ClientAssertionRow.expires_at < now))
