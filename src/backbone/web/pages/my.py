"""마이페이지: the member's details, accepted terms, devices, passkeys and certificates; removing a
device and revoking a certificate (both need the `manage_security` assurance, as the API's do)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backbone.identity.domain import Operation, RevocationReason, device_is_new
from backbone.web.pages.common import ClockDep, DatabaseDep, IdentityDep, PostedForm
from backbone.web.rendering import page, redirect
from backbone.web.session import required_member

router = APIRouter(prefix="/my")


@router.get("", response_class=HTMLResponse)
def my_page(request: Request, database: DatabaseDep, identity: IdentityDep, clock: ClockDep) -> HTMLResponse:
    current = required_member(request)
    now = clock.now()
    with database.reading() as session:
        member = identity.members.member(session, current.member_id)
        accepted_terms = identity.members.accepted_terms(session, current.member_id)
        devices = identity.sessions.devices(session, current.member_id)
        certificates = identity.authority.certificates_of(session, current.member_id)
        passkeys = identity.passkeys.passkeys_of(session, current.member_id)
    return page(
        request,
        "pages/my/index.html",
        member=current,
        member_details=member,
        accepted_terms=accepted_terms,
        devices=[(device, device_is_new(device.first_seen_at, now)) for device in devices],
        certificates=[(certificate, certificate.status_at(now)) for certificate in certificates],
        passkeys=passkeys,
    )


@router.post("/devices/{device_id}/remove")
def remove_device(
    device_id: int, request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> Response:
    del form  # CSRF checked
    current = required_member(request)
    identity.step_up.require(current, Operation.MANAGE_SECURITY)
    with database.transaction() as session:
        identity.sessions.remove_device(session, current.member_id, device_id)
    return redirect(request, "/my#devices")


@router.post("/certificates/{serial}/revoke")
def revoke_certificate(
    serial: str, request: Request, form: PostedForm, database: DatabaseDep, identity: IdentityDep
) -> Response:
    del form  # CSRF checked
    current = required_member(request)
    identity.step_up.require(current, Operation.MANAGE_SECURITY)
    with database.transaction() as session:
        identity.authority.revoke(
            session, serial, reason=RevocationReason.UNSPECIFIED, member_id=current.member_id
        )
    return redirect(request, "/my#certificates")
