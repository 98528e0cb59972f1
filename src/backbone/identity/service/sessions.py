"""Portal sessions, the devices they run on, and the proofs each session has gathered.

A session is a random token (in an HttpOnly cookie) whose SHA-256 is stored; it dies after
SESSION_IDLE_S without use or SESSION_LIFETIME_S in all. A device is another random token in a
long-lived cookie: a login that brings no token this member's devices know registers a new device,
and a device is "new" for DEVICE_NEW_PERIOD_S, which the step-up policy weighs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from backbone.identity import repository, tokens
from backbone.identity.attempts import recorded
from backbone.identity.domain import (
    DEVICE_LABEL_LENGTH_MAX,
    SESSION_IDLE_S,
    SESSION_LIFETIME_S,
    Assurance,
    CurrentMember,
    Factor,
    Member,
    device_is_new,
)
from backbone.identity.errors import NotAuthenticated, SessionExpired, UnknownDevice
from backbone.identity.repository import StoredDevice
from backbone.kit.check import present
from backbone.kit.clock import Clock
from backbone.kit.ids import IdGenerator
from backbone.kit.logs import get_logger

log = get_logger("backbone.identity")
TOUCH_INTERVAL_S = 60  # last-seen is written at most once a minute, not on every request


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session_id: int
    member_id: int
    device_id: int
    session_token: str  # for the cookie only
    device_token: str | None  # set when a new device was registered: for its cookie
    device_is_new: bool


class WriteNeeded(Exception):
    """Authentication needs to write (end or touch the session): run it in a writing transaction."""


class Sessions:
    def __init__(self, *, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    def open(
        self,
        session: Session,
        member: Member,
        *,
        factor: Factor,
        reference: str,
        device_token: str | None,
        device_label: str,
    ) -> OpenedSession:
        now = self._clock.now()
        device = self._known_device(session, member.id, device_token)
        new_device_token: str | None = None
        if device is None:
            new_device_token = tokens.new_token()
            device_id = self._ids.next()
            repository.insert_device(
                session,
                device_id=device_id,
                member_id=member.id,
                token_hash=tokens.token_hash(new_device_token),
                label=device_label.strip()[:DEVICE_LABEL_LENGTH_MAX] or "unknown device",
                now=now,
            )
            device = present(repository.device_by_id(session, device_id), "just inserted")
            log.info("identity.device_registered", member_id=member.id, device_id=device_id)
        else:
            repository.touch_device(session, device.id, now)
        session_token = tokens.new_token()
        session_id = self._ids.next()
        repository.insert_session(
            session,
            session_id=session_id,
            member_id=member.id,
            device_id=device.id,
            token_hash=tokens.token_hash(session_token),
            login_factor=factor,
            now=now,
            expires_at=now + timedelta(seconds=SESSION_LIFETIME_S),
        )
        self.add_proof(session, session_id, factor, reference)
        log.info(
            "identity.session_opened",
            member_id=member.id,
            session_id=session_id,
            device_id=device.id,
            factor=factor.value,
        )
        return OpenedSession(
            session_id=session_id,
            member_id=member.id,
            device_id=device.id,
            session_token=session_token,
            device_token=new_device_token,
            device_is_new=device_is_new(device.first_seen_at, now),
        )

    def authenticate(
        self, session: Session, session_token: str | None, *, may_write: bool = True
    ) -> CurrentMember:
        """The member behind a session token, or NotAuthenticated / SessionExpired.

        With `may_write=False` (a read transaction: most requests, which then never take the
        database's write lock) a session that must be ended or touched raises `WriteNeeded`, and
        the caller runs it again in a writing transaction."""
        if not session_token:
            raise NotAuthenticated("log in first")
        found = repository.authentication_by_token_hash(session, tokens.token_hash(session_token))
        if found is None or found[0].ended_at is not None:
            raise NotAuthenticated("the session is not valid; log in again")
        stored, device, member = found
        now = self._clock.now()
        if now >= stored.expires_at or now - stored.last_seen_at >= timedelta(seconds=SESSION_IDLE_S):
            if not may_write:
                raise WriteNeeded
            repository.end_session(session, stored.id, now)
            raise recorded(SessionExpired("the session has expired; log in again"))
        if device.revoked_at is not None:
            raise NotAuthenticated("this device was removed; log in again")
        if now - stored.last_seen_at >= timedelta(seconds=TOUCH_INTERVAL_S):
            if not may_write:
                raise WriteNeeded
            repository.touch_session(session, stored.id, now)
            repository.touch_device(session, device.id, now)
        return CurrentMember(
            member_id=member.id,
            personal_identifier=member.personal_identifier,
            name=member.name,
            session_id=stored.id,
            device_id=device.id,
            device_is_new=device_is_new(device.first_seen_at, now),
            assurance=Assurance(
                login_factor=stored.login_factor, proven_at=repository.proofs_of_session(session, stored.id)
            ),
        )

    def end(self, session: Session, current: CurrentMember) -> None:
        repository.end_session(session, current.session_id, self._clock.now())
        log.info("identity.session_ended", member_id=current.member_id, session_id=current.session_id)

    def add_proof(self, session: Session, session_id: int, factor: Factor, reference: str) -> None:
        repository.insert_proof(
            session,
            proof_id=self._ids.next(),
            session_id=session_id,
            factor=factor,
            reference=reference,
            proven_at=self._clock.now(),
        )

    # --- devices --------------------------------------------------------------------------------

    def devices(self, session: Session, member_id: int) -> list[StoredDevice]:
        return repository.devices_of_member(session, member_id)

    def remove_device(self, session: Session, member_id: int, device_id: int) -> None:
        device = repository.device_by_id(session, device_id)
        if device is None or device.member_id != member_id or device.revoked_at is not None:
            raise UnknownDevice(f"no device {device_id} of this member")
        now = self._clock.now()
        repository.revoke_device(session, device_id, now)
        repository.end_sessions_of_device(session, device_id, now)
        log.info("identity.device_removed", member_id=member_id, device_id=device_id)

    def _known_device(
        self, session: Session, member_id: int, device_token: str | None
    ) -> StoredDevice | None:
        if not device_token:
            return None
        device = repository.device_by_token_hash(session, tokens.token_hash(device_token))
        if device is None or device.member_id != member_id or device.revoked_at is not None:
            return None
        return device
